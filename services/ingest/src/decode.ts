import type { z } from 'zod';
import { tokenRequestSchema, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { canonicalFormat } from './formats/canonical.js';
import { clip } from './formats/fields.js';
import type { FormatAdapter, FormatName } from './formats/types.js';
import { redactStrings, redactText } from '@tokenwatch/shared/redact';
import { encodeTokenRequestRow, type StoredTokenRequest } from '@tokenwatch/shared/storage/token-request-row';
import { deadLetter, ok, type Adapted, type DecodeResult } from './results.js';

/**
 * The largest message (or `tokenwatch import` line) decoded, in bytes of UTF-8. The consumer
 * fetches at most 8 MiB a partition, and an IdP's batch (an Okta API page, a CloudTrail log
 * file) stays well below this; a larger one is dead-lettered with its size, unparsed.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** The deepest nesting of arrays and objects decoded; IdP records nest a few levels. */
export const MAX_JSON_DEPTH = 32;
/**
 * The start of the reason given when decoding failed in a way no check foresaw (a bug, not bad
 * input). Fuzz tests look for it: nothing they send may produce it.
 */
export const UNEXPECTED_FAILURE = 'could not decode (unexpected failure)';
/** Reasons are cut to this many characters: they travel in a Kafka header and the rejects file. */
export const MAX_REASON_LENGTH = 512;

export type FormatChoice = FormatName | 'auto';

export interface DecodeOptions {
  /** The formats to recognise, in detection order (the canonical format first). */
  readonly adapters: readonly FormatAdapter[];
  /** `auto` detects the format per record; a name forces it (TOKENWATCH_FORMAT, --format). */
  readonly format: FormatChoice;
  /** Adds what storage should hold beside the validated event (IP enrichment). */
  readonly enrich?: (event: TokenRequest) => StoredTokenRequest;
}

/**
 * Turns one Kafka message (or one JSON line) into results, one per record it holds: a JSON
 * object, a JSON array of them (Okta's API, Auth0 webhooks), or a log line (Keycloak).
 * It never throws: bad input becomes a dead-letter result whose reason names the format and
 * the first failing field, because a throw inside a consumer would retry the same offset forever.
 */
export function decodeMessage(bytes: Buffer | string | null, options: DecodeOptions): DecodeResult[] {
  try {
    // In place: the array is this call's own, and one per message is allocation enough.
    const results = decodeUnchecked(bytes, options);
    for (let i = 0; i < results.length; i += 1) results[i] = cleanReason(results[i] as DecodeResult);
    return results;
  } catch (error) {
    // The last line of the promise above: every known way for input to fail is checked and
    // named, but a consumer that throws retries the same offset forever.
    return [cleanReason(deadLetter(`${UNEXPECTED_FAILURE}: ${String(error)}`))];
  }
}

function decodeUnchecked(bytes: Buffer | string | null, options: DecodeOptions): DecodeResult[] {
  if (bytes === null || bytes.length === 0) return [deadLetter('empty message')];
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  // Before anything reads it: every later step is linear, and this bounds the line.
  if (size > MAX_MESSAGE_BYTES) return [deadLetter(`message is ${size} bytes, over the ${MAX_MESSAGE_BYTES} a message may have`)];
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const lineAdapter = textAdapter(text, options);
    if (lineAdapter?.adaptText) return finishAll(lineAdapter.adaptText(text), lineAdapter.name, options);
    // V8 quotes a slice of the input in its message; the input may hold a secret. (The message
    // is V8's, under a hundred characters whatever the input, so the pattern sees little.)
    return [deadLetter(`not JSON: ${(error as Error).message.replace(/"[^]*"/g, '…')}`)];
  }
  // Adapters, event ids and redaction walk records recursively: a deeper record is refused
  // before one of them runs out of stack.
  if (nestsDeeperThan(parsed, MAX_JSON_DEPTH)) return [deadLetter(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`)];
  if (!Array.isArray(parsed)) return decodeRecord(parsed, options);
  if (parsed.length === 0) return [deadLetter('empty JSON array')];
  const results: DecodeResult[] = [];
  for (const record of parsed as unknown[]) results.push(...decodeRecord(record, options));
  return results;
}

/**
 * A reason quotes the input (a key, an event type), so it goes out as the dead-letter header and
 * the rejects file only bounded, well-formed and with anything that looks like a credential
 * redacted. It is cut before redaction with room to spare (a credential across the first cut
 * is still seen whole by the patterns) and again after.
 */
function cleanReason(result: DecodeResult): DecodeResult {
  if (result.kind === 'ok') return result;
  const reason = redactText(clipText(result.reason, 2 * MAX_REASON_LENGTH)).toWellFormed();
  const clean = clipText(reason, MAX_REASON_LENGTH);
  return clean === result.reason ? result : { ...result, reason: clean };
}

/**
 * Whether arrays and objects nest more than `max` deep in a parsed JSON value; linear. Recursive
 * but bounded: it never goes more than `max + 1` calls deep, whatever the input, and allocates
 * nothing (it runs on every message).
 */
function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) if (nestsDeeperThan(value[i], max - 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (nestsDeeperThan(record[key], max - 1)) return true;
  return false;
}

function clipText(value: string, max: number): string {
  return value.length <= max ? value : `${clip(value, max) ?? ''}…`;
}

/** The canonical format alone: TokenRequest JSON as gateways and `tokenwatch produce` send it. */
export function decodeCanonical(bytes: Buffer | string | null): DecodeResult[] {
  return decodeMessage(bytes, { adapters: [canonicalFormat], format: 'canonical' });
}

function decodeRecord(record: unknown, options: DecodeOptions): DecodeResult[] {
  const { adapters, format } = options;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    const got = Array.isArray(record) ? 'an array' : record === null ? 'null' : typeof record;
    return [deadLetter(`invalid TokenRequest: expected a JSON object, got ${got}`)];
  }
  const fields = record as Record<string, unknown>;
  const adapter = format === 'auto' ? detectFormat(adapters, fields) : adapters.find((candidate) => candidate.name === format);
  if (!adapter) {
    const keys = Object.keys(fields)
      .slice(0, 8)
      .map((key) => clipText(key, 64))
      .join(', ');
    return [deadLetter(format === 'auto' ? `unrecognised format: no known IdP log format has these fields (${keys})` : `format ${format} is not available`)];
  }
  return finishAll(adapter.adapt(fields), adapter.name, options);
}

/** The first adapter whose format the record has (a loop: this runs for every record). */
function detectFormat(adapters: readonly FormatAdapter[], fields: Record<string, unknown>): FormatAdapter | undefined {
  for (const adapter of adapters) if (adapter.matches(fields)) return adapter;
  return undefined;
}

function finishAll(candidates: readonly Adapted[], format: FormatName, options: DecodeOptions): DecodeResult[] {
  // Most records hold one event: no closure, no second pass.
  if (candidates.length === 1) return [finish(candidates[0] as Adapted, format, options)];
  const results: DecodeResult[] = [];
  for (const adapted of candidates) results.push(finish(adapted, format, options));
  return results;
}

function textAdapter(text: string, { adapters, format }: DecodeOptions): FormatAdapter | undefined {
  return format === 'auto'
    ? adapters.find((candidate) => candidate.matchesText?.(text))
    : adapters.find((candidate) => candidate.name === format && candidate.adaptText);
}

/**
 * Validates an adapter's candidate with the one schema every format must meet, and adds the
 * `raw` column: the adapter's allowlisted, redacted copy of the record the event came from.
 */
function finish(adapted: Adapted, format: FormatName, { enrich }: DecodeOptions): DecodeResult {
  if (adapted.kind !== 'ok') return adapted;
  const result = tokenRequestSchema.safeParse(adapted.event);
  const prefix = format === 'canonical' ? '' : `${format}: `;
  if (!result.success) return deadLetter(`${prefix}invalid TokenRequest: ${describeIssue(result.error)}`);
  // The one place every event passes whatever its format: the credential patterns of the
  // dead-letter path also clean every free-text field (a `Bearer …` in a user agent, a JWT in
  // a scope), so no adapter or producer can store one. After validation: the schema judged what
  // was sent (a `[REDACTED]` may make a field a few characters longer than its bound; storage
  // has no bounds of its own) and only validated strings are scanned.
  const event = redactStrings(result.data);
  // Storage gets the zod output encoded as a row, never the original text: only then does
  // ClickHouse read exactly what was validated (duplicate keys, `1.7e12` or `123.0` times and
  // unknown fields would otherwise be read differently, or fail the whole batch).
  const stored = enrich ? enrich(event) : event;
  // No raw (the canonical format): the column holds ''.
  const { raw } = adapted;
  const line = encodeTokenRequestRow(stored, raw);
  const { unknownAuthMethod } = adapted;
  // The canonical format's case first, without building the optional parts.
  // A literal, not ok(): a property before a spread leaves V8's fast clone path, on every event.
  if (unknownAuthMethod === undefined && raw === undefined) return { kind: 'ok', event, line };
  return ok({ event, line, ...(unknownAuthMethod === undefined ? {} : { unknownAuthMethod }), ...(raw === undefined ? {} : { raw }) });
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown schema error';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
