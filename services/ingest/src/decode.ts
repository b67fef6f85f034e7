import type { z } from 'zod';
import { tokenRequestSchema, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { canonicalFormat } from './formats/canonical.js';
import type { Adapted, FormatAdapter, FormatName } from './formats/types.js';
import { redactStrings } from '@tokenwatch/shared/redact';
import { deadLetter, ok, skip, type DecodeResult } from './results.js';

export type FormatChoice = FormatName | 'auto';

export interface DecodeOptions {
  /** The formats to recognise, in detection order (the canonical format first). */
  readonly adapters: readonly FormatAdapter[];
  /** `auto` detects the format per record; a name forces it (TOKENWATCH_FORMAT, --format). */
  readonly format: FormatChoice;
  /** Adds what storage should hold beside the validated event (IP enrichment). */
  readonly enrich?: (event: TokenRequest) => object;
}

/**
 * Turns one Kafka message (or one JSON line) into results, one per record it holds: a JSON
 * object, a JSON array of them (Okta's API, Auth0 webhooks), or a log line (Keycloak).
 * It never throws: bad input becomes a dead-letter result whose reason names the format and
 * the first failing field, because a throw inside a consumer would retry the same offset forever.
 */
export function decodeMessage(bytes: Buffer | string | null, options: DecodeOptions): DecodeResult[] {
  if (bytes === null || bytes.length === 0) return [deadLetter('empty message')];
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const lineAdapter = textAdapter(text, options);
    if (lineAdapter?.adaptText) return lineAdapter.adaptText(text).map((adapted) => finish(adapted, lineAdapter.name, options));
    // V8 quotes a slice of the input in its message; the input may hold a secret.
    return [deadLetter(`not JSON: ${(error as Error).message.replace(/"[^]*"/g, '…')}`)];
  }
  const records = Array.isArray(parsed) ? parsed : [parsed];
  if (records.length === 0) return [deadLetter('empty JSON array')];
  return records.flatMap((record: unknown) => decodeRecord(record, options));
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
  const adapter = format === 'auto' ? adapters.find((candidate) => candidate.matches(fields)) : adapters.find((candidate) => candidate.name === format);
  if (!adapter) {
    const keys = Object.keys(fields).slice(0, 8).join(', ');
    return [deadLetter(format === 'auto' ? `unrecognised format: no known IdP log format has these fields (${keys})` : `format ${format} is not available`)];
  }
  return adapter.adapt(fields).map((adapted) => finish(adapted, adapter.name, options));
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
  if (adapted.kind === 'skip') return skip(adapted.reason);
  if (adapted.kind === 'dlq') return deadLetter(adapted.reason);
  const result = tokenRequestSchema.safeParse(adapted.event);
  const prefix = format === 'canonical' ? '' : `${format}: `;
  if (!result.success) return deadLetter(`${prefix}invalid TokenRequest: ${describeIssue(result.error)}`);
  // The one place every event passes whatever its format: the credential patterns of the
  // dead-letter path also clean every free-text field (a `Bearer …` in a user agent, a JWT in
  // a scope), so no adapter or producer can store one. After validation: the schema judged what
  // was sent (a `[REDACTED]` may make a field a few characters longer than its bound; storage
  // has no bounds of its own) and only validated strings are scanned.
  const event = redactStrings(result.data);
  // Storage gets the zod output re-serialised, never the original text: only then does
  // ClickHouse read exactly what was validated (duplicate keys, `1.7e12` or `123.0` times and
  // unknown fields would otherwise be read differently, or fail the whole batch).
  const stored = enrich ? enrich(event) : event;
  // No raw (the canonical format): no `raw` key, and the column keeps its default ''.
  const { raw } = adapted;
  return ok(event, JSON.stringify(raw === undefined ? stored : { ...stored, raw }), adapted.unknownAuthMethod, raw);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown schema error';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
