import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { openEnricherFromSettings } from '@tokenwatch/ingest/enrich/from-settings';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage, type FormatChoice } from '@tokenwatch/ingest/decode';
import { sortBatch } from '@tokenwatch/ingest/classify';
import { redactRecord } from '@tokenwatch/shared/redact';
import { openStorage } from '@tokenwatch/server/storage';
import { findStoredEventIds, insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { readLineChunks, type Line } from '../lines.js';
import type { CommandContext } from '../run.js';

const CHUNK_LINES = 10_000;

export interface ImportCounts {
  inserted: number;
  duplicate: number;
  rejected: number;
  skipped: number;
}

/**
 * `tokenwatch import <file|->`: JSON lines (or log lines) through the same decoding, validation
 * and insert path as the Kafka worker. Rejects go to `<file>.rejects.jsonl` with their line number and reason
 * (secrets redacted), never silently dropped.
 */
export async function importCommand(context: CommandContext, path: string, format: FormatChoice): Promise<ImportCounts> {
  const { settings, logger } = context;
  const rejectsPath = `${path === '-' ? 'stdin' : path}.rejects.jsonl`;
  const enricher = await openEnricherFromSettings(settings, logger);
  const storage = await openStorage(settings, logger, { serveQueries: false });
  const counts: ImportCounts = { inserted: 0, duplicate: 0, rejected: 0, skipped: 0 };
  let rejects: WriteStream | undefined;
  try {
    for await (const lines of readLineChunks(path, CHUNK_LINES)) {
      const sorted = sortBatch<Line>(lines, (line) => decodeMessage(line.text, { adapters: FORMATS, format, enrich: enricher.enrich }));
      const stored = await findStoredEventIds(storage.client, sorted.eventIds);
      const fresh = sorted.lines.filter((_line, i) => !stored.has(sorted.eventIds[i] as string));
      // The token is the chunk's content: a retried insert of the chunk is stored once.
      const dedupToken = `import:${createHash('sha256').update(lines.map((line) => line.text).join('\n')).digest('hex')}`;
      await insertTokenRequests(storage.client, fresh, { dedupToken });
      counts.inserted += fresh.length;
      counts.duplicate += sorted.duplicates + (sorted.lines.length - fresh.length);
      counts.skipped += sorted.skipped;
      counts.rejected += sorted.rejected.length;
      for (const { record, reason } of sorted.rejected) {
        rejects ??= createWriteStream(rejectsPath);
        rejects.write(`${JSON.stringify({ line: record.number, reason, record: redactRecord(record.text).text })}\n`);
      }
    }
  } finally {
    if (rejects) await new Promise((resolve) => rejects?.end(resolve));
    await storage.close();
  }
  const rejectNote = counts.rejected > 0 ? ` (see ${rejectsPath})` : '';
  process.stdout.write(
    `inserted ${counts.inserted}, duplicate ${counts.duplicate}, rejected ${counts.rejected}${rejectNote}, skipped ${counts.skipped}\n`,
  );
  return counts;
}
