import type { DecodeResult } from './results.js';

export interface Rejected<T> {
  readonly record: T;
  readonly reason: string;
}

/** A valid event ready for storage, with the record it came from. */
export interface ValidEvent<T> {
  readonly record: T;
  readonly eventId: string;
  /** Epoch milliseconds: which partition the row lands in, and whether retention keeps it. */
  readonly time: number;
  /** The event as a token_requests row (TabSeparated, encodeTokenRequestRow), the form storage takes. */
  readonly line: string;
}

/** A batch of records classified into what to store, what to reject, and what to only count. */
export interface ClassifiedBatch<T> {
  /** One per event_id: the first valid event of each. */
  readonly valid: ValidEvent<T>[];
  /** Records that did not decode or validate, once each, with the first reason. */
  readonly invalid: Rejected<T>[];
  /** Valid records that are not client token requests (a user login, an admin change). */
  readonly notTokenRequests: number;
  /** Valid events whose event_id already appeared earlier in the same batch. */
  readonly repeatedInBatch: number;
  /** Vendor auth-method values no adapter could map, with how often each was seen. */
  readonly unknownAuthMethods: Map<string, number>;
}

/**
 * Decodes every record of a batch and classifies the results. A record that holds several
 * events (an envelope) is rejected once, with its first reason, if any of them is invalid;
 * its valid events are stored all the same.
 */
export function classifyBatch<T>(records: readonly T[], decode: (record: T) => DecodeResult[]): ClassifiedBatch<T> {
  const valid: ValidEvent<T>[] = [];
  const invalid: Rejected<T>[] = [];
  const seen = new Set<string>();
  const unknownAuthMethods = new Map<string, number>();
  let notTokenRequests = 0;
  let repeatedInBatch = 0;
  for (const record of records) {
    // The first reason and how many: no array per record, as nearly all records are valid.
    let firstReason: string | undefined;
    let reasons = 0;
    for (const result of decode(record)) {
      if (result.kind === 'dlq') {
        firstReason ??= result.reason;
        reasons += 1;
      } else if (result.kind === 'skip') notTokenRequests += 1;
      else if (seen.has(result.event.event_id)) repeatedInBatch += 1;
      else {
        seen.add(result.event.event_id);
        valid.push({ record, eventId: result.event.event_id, time: result.event.time, line: result.line });
        if (result.unknownAuthMethod !== undefined) {
          unknownAuthMethods.set(result.unknownAuthMethod, (unknownAuthMethods.get(result.unknownAuthMethod) ?? 0) + 1);
        }
      }
    }
    if (firstReason !== undefined) {
      const more = reasons > 1 ? ` (and ${reasons - 1} more invalid records in this message)` : '';
      invalid.push({ record, reason: `${firstReason}${more}` });
    }
  }
  return { valid, invalid, notTokenRequests, repeatedInBatch, unknownAuthMethods };
}
