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
  /** Vendor auth-method values no adapter could map, with how often each was seen. */
  readonly unknownAuthMethods: Map<string, number>;
}

/**
 * Decodes every record of a batch. The same function serves the Kafka worker and
 * `tokenwatch import`, so both validate and count identically. A record that holds several
 * events (an envelope) is rejected once, with its first reason, if any of them is invalid;
 * its valid events are stored all the same.
 */
export function sortBatch<T>(records: readonly T[], decode: (record: T) => DecodeResult[]): SortedBatch<T> {
  const lines: string[] = [];
  const eventIds: string[] = [];
  const rejected: Rejected<T>[] = [];
  const seen = new Set<string>();
  const unknownAuthMethods = new Map<string, number>();
  let skipped = 0;
  let duplicates = 0;
  for (const record of records) {
    const reasons: string[] = [];
    for (const result of decode(record)) {
      if (result.kind === 'dlq') reasons.push(result.reason);
      else if (result.kind === 'skip') skipped += 1;
      else if (seen.has(result.event.event_id)) duplicates += 1;
      else {
        seen.add(result.event.event_id);
        lines.push(result.json);
        eventIds.push(result.event.event_id);
        if (result.unknownAuthMethod !== undefined) {
          unknownAuthMethods.set(result.unknownAuthMethod, (unknownAuthMethods.get(result.unknownAuthMethod) ?? 0) + 1);
        }
      }
    }
    if (reasons.length > 0) {
      const more = reasons.length > 1 ? ` (and ${reasons.length - 1} more invalid records in this message)` : '';
      rejected.push({ record, reason: `${reasons[0] as string}${more}` });
    }
  }
  return { lines, eventIds, rejected, skipped, duplicates, unknownAuthMethods };
}
