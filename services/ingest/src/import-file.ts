import { createWriteStream, type WriteStream } from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import { redactRecord } from '@tokenwatch/shared/redact';
import type { DecodeResult } from './results.js';
import { storeDecoded } from './store.js';

/** One non-empty input line with its 1-based number in the file. */
export interface ImportLine {
  readonly number: number;
  readonly text: string;
}

export interface ImportCounts {
  inserted: number;
  /** Repeated within the input, or stored already. */
  duplicate: number;
  /** Lines that did not decode, or that hold an event ClickHouse refused (all in the rejects file). */
  rejected: number;
  /** Valid records that are not client token requests. */
  skipped: number;
  /** Valid events older than the retention: not stored, since the table's TTL would drop them. */
  expired: number;
}

export interface ImportOptions {
  readonly clickhouse: ClickHouseClient;
  readonly decode: (text: string) => DecodeResult[];
  readonly retentionDays: number;
  /** Created on the first reject only: `{"line":n,"reason":"...","record":"<redacted line>"}` per line. */
  readonly rejectsPath: string;
}

/**
 * `tokenwatch import`: lines through the same write path as the Kafka worker (storeDecoded),
 * chunk by chunk. Rejects go to the rejects file with their line number and reason (secrets
 * redacted), never silently dropped. Already stored events are counted as duplicates, not sent.
 */
export async function importLines(chunks: AsyncIterable<readonly ImportLine[]>, options: ImportOptions): Promise<ImportCounts> {
  const { clickhouse, decode, retentionDays, rejectsPath } = options;
  const counts: ImportCounts = { inserted: 0, duplicate: 0, rejected: 0, skipped: 0, expired: 0 };
  let rejects: WriteStream | undefined;
  try {
    for await (const lines of chunks) {
      const outcome = await storeDecoded(lines, (line) => decode(line.text), { clickhouse, source: 'import', retentionDays, skipStoredEvents: true });
      counts.inserted += outcome.stored;
      counts.duplicate += outcome.repeatedInBatch + outcome.alreadyStored;
      counts.skipped += outcome.notTokenRequests;
      counts.expired += outcome.expired;
      counts.rejected += outcome.rejected.length;
      // Rejects in line order, whichever stage refused them.
      for (const { record, reason } of [...outcome.rejected].sort((a, b) => a.record.number - b.record.number)) {
        rejects ??= createWriteStream(rejectsPath);
        rejects.write(`${JSON.stringify({ line: record.number, reason, record: redactRecord(record.text).text })}\n`);
      }
    }
  } finally {
    if (rejects) await new Promise((resolve) => rejects?.end(resolve));
  }
  return counts;
}

/** The one-line summary `tokenwatch import` prints. */
export function describeImport(counts: ImportCounts, rejectsPath: string, retentionDays: number): string {
  const rejectNote = counts.rejected > 0 ? ` (see ${rejectsPath})` : '';
  const expiredNote =
    counts.expired > 0 ? `, expired ${counts.expired} (older than TOKENWATCH_RETENTION_DAYS=${retentionDays}: not stored, retention would drop them)` : '';
  return `inserted ${counts.inserted}, duplicate ${counts.duplicate}, rejected ${counts.rejected}${rejectNote}, skipped ${counts.skipped}${expiredNote}`;
}
