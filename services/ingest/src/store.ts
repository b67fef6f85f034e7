import type { ClickHouseClient } from '@clickhouse/client';
import { findStoredEventIds, insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { DAY_MS } from '@tokenwatch/shared/time';
import { classifyBatch, type ClassifiedBatch, type Rejected, type ValidEvent } from './classify.js';
import type { DecodeResult } from './results.js';
import { writeBatch } from './write-batch.js';

export interface StoreOptions<T> {
  readonly clickhouse: ClickHouseClient;
  /** Where the records came from (the consumer's offset ranges, `import`): part of every dedup token. */
  readonly source: string;
  /** TOKENWATCH_RETENTION_DAYS: older events are not sent, since the table's TTL would drop them. */
  readonly retentionDays: number;
  /** Look up which event ids are stored already and send only the others (import's exact duplicate count). */
  readonly skipStoredEvents?: boolean;
  /**
   * Called after classification, before anything is written: throwing stops the batch without
   * any effect (the worker's dead-letter guard).
   */
  readonly admit?: (batch: ClassifiedBatch<T>) => void;
  /** The clock retention is measured against (tests). */
  readonly now?: number;
}

/** What became of a batch of records; every event is counted in exactly one of the numbers. */
export interface StoreOutcome<T> {
  /** Events ClickHouse accepted. */
  readonly stored: number;
  /** Events whose event_id is stored already (only with skipStoredEvents). */
  readonly alreadyStored: number;
  /** Events whose event_id appeared earlier in the same batch. */
  readonly repeatedInBatch: number;
  /** Valid events older than the retention: not sent, the TTL would drop them at once. */
  readonly expired: number;
  /** Valid records that are not client token requests. */
  readonly notTokenRequests: number;
  /** Valid events ClickHouse refused (each record holding one is in `rejected`). */
  readonly refusedByStorage: number;
  /**
   * Every record to dead-letter (or write to a rejects file), once, with the first reason:
   * records that did not decode, then records holding an event ClickHouse refused.
   */
  readonly rejected: Rejected<T>[];
  readonly unknownAuthMethods: Map<string, number>;
  /** INSERT statements sent (more than one when the batch was split). */
  readonly inserts: number;
}

/**
 * The write path, the one way anything enters token_requests (the Kafka worker, `tokenwatch
 * import`, the tests' fixtures): decode and classify the records, drop what retention would
 * drop, write the rest with writeBatch (split by partition, bisected around rows ClickHouse
 * refuses), and say what became of every record. It resolves once ClickHouse acknowledged
 * every stored row; infrastructure errors reject (a DependencyError) and leave nothing marked
 * refused, so the caller may retry the same records and get the same inserts.
 */
export async function storeDecoded<T>(
  records: readonly T[],
  decode: (record: T) => DecodeResult[],
  options: StoreOptions<T>,
): Promise<StoreOutcome<T>> {
  const { clickhouse, source, retentionDays, skipStoredEvents = false, admit, now = Date.now() } = options;
  const batch = classifyBatch(records, decode);
  admit?.(batch);

  const oldestKept = now - retentionDays * DAY_MS;
  const current = batch.valid.filter((event) => event.time >= oldestKept);
  const expired = batch.valid.length - current.length;
  let fresh: ValidEvent<T>[] = current;
  if (skipStoredEvents) {
    const stored = await findStoredEventIds(clickhouse, current.map((event) => event.eventId));
    fresh = current.filter((event) => !stored.has(event.eventId));
  }

  const written = await writeBatch(fresh, source, (lines, dedupToken) => insertTokenRequests(clickhouse, lines, { dedupToken }));

  const rejected = [...batch.invalid];
  const rejectedRecords = new Set<T>(batch.invalid.map(({ record }) => record));
  for (const { row, reason } of written.refused) {
    if (rejectedRecords.has(row.record)) continue;
    rejectedRecords.add(row.record);
    rejected.push({ record: row.record, reason: `refused by ClickHouse: ${reason}` });
  }
  return {
    stored: written.stored.length,
    alreadyStored: current.length - fresh.length,
    repeatedInBatch: batch.repeatedInBatch,
    expired,
    notTokenRequests: batch.notTokenRequests,
    refusedByStorage: written.refused.length,
    rejected,
    unknownAuthMethods: batch.unknownAuthMethods,
    inserts: written.inserts,
  };
}
