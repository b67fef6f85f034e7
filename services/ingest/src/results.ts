import type { TokenRequest } from '@tokenwatch/shared/events/token-request';

/**
 * What became of one input record, at every step from adapter to storage. Every record ends
 * in exactly one of these, so nothing is dropped without being counted:
 * - ok:   it goes on (an adapter's candidate event; a validated event to be stored);
 * - dlq:  bad input, sent to the dead-letter topic (or the rejects file) with the reason;
 * - skip: a valid record that is not a client token request (a user login, an admin change).
 * One union for every step (after PostHog's ingestion pipeline results): an adapter's result,
 * the decoder's and a parser's differ only in what an `ok` carries, its fields beside `kind`.
 */
export type Result<T extends object> = Ok<T> | DeadLetter | Skip;

export type Ok<T extends object> = { readonly kind: 'ok' } & Readonly<T>;
export interface DeadLetter {
  readonly kind: 'dlq';
  readonly reason: string;
}
export interface Skip {
  readonly kind: 'skip';
  readonly reason: string;
}

export const ok = <T extends object>(fields: T): Ok<T> => ({ kind: 'ok', ...fields });
export const deadLetter = (reason: string): DeadLetter => ({ kind: 'dlq', reason });
export const skip = (reason: string): Skip => ({ kind: 'skip', reason });

/** A step that either yields a value or says why it cannot (a field parser); it never skips. */
export type Parsed<T> = Ok<{ readonly value: T }> | DeadLetter;
export const parsed = <T>(value: T): Parsed<T> => ok({ value });

/**
 * An adapter's candidate: `event` in the TokenRequest input shape, which the decoder validates
 * with the zod schema, so adapters translate and never validate twice.
 * - `unknownAuthMethod`: a vendor auth-method value the adapter could not map (stored as
 *   `unknown`, counted);
 * - `raw`: the `raw` column, rawJson (formats/raw.ts) of the record the event came from (for an
 *   envelope, the inner record; for a log line, its parsed fields) with the adapter's
 *   `rawFields`, i.e. already allowlisted and redacted, so a candidate never holds a secret.
 *   Absent: nothing is kept (the canonical format, whose record is the event itself).
 */
export interface Candidate {
  readonly event: Record<string, unknown>;
  readonly unknownAuthMethod?: string;
  readonly raw?: string;
}
export type Adapted = Result<Candidate>;

/**
 * A validated event: `line` is the event (enriched, with `raw`) as a token_requests row, the
 * form storage takes (encodeTokenRequestRow, TabSeparated); `unknownAuthMethod` and `raw` as the
 * candidate had them.
 */
export interface Decoded {
  readonly event: TokenRequest;
  readonly line: string;
  readonly unknownAuthMethod?: string;
  readonly raw?: string;
}
export type DecodeResult = Result<Decoded>;
