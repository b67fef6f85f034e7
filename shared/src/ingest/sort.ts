import type { DecodeResult } from './results.js';

export interface Rejected<T> {
  readonly record: T;
  readonly reason: string;
}

/** A batch of records sorted into what to store, what to reject, and what to only count. */
export interface SortedBatch<T> {
  /** Canonical JSON of each valid event to store, one per event_id. */
  readonly lines: string[];
  readonly eventIds: string[];
  readonly rejected: Rejected<T>[];
  readonly skipped: number;
  /** Valid events whose event_id already appeared earlier in the same batch. */
  readonly duplicates: number;
}

/**
 * Decodes every record of a batch. The same function serves the Kafka worker and
 * `tokenwatch import`, so both validate and count identically.
 */
export function sortBatch<T>(records: readonly T[], decode: (record: T) => DecodeResult): SortedBatch<T> {
  const lines: string[] = [];
  const eventIds: string[] = [];
  const rejected: Rejected<T>[] = [];
  const seen = new Set<string>();
  let skipped = 0;
  let duplicates = 0;
  for (const record of records) {
    const result = decode(record);
    if (result.kind === 'dlq') rejected.push({ record, reason: result.reason });
    else if (result.kind === 'skip') skipped += 1;
    else if (seen.has(result.event.event_id)) duplicates += 1;
    else {
      seen.add(result.event.event_id);
      lines.push(result.json);
      eventIds.push(result.event.event_id);
    }
  }
  return { lines, eventIds, rejected, skipped, duplicates };
}
