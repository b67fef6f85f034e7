import type { z } from 'zod';
import { tokenRequestSchema } from '../events/token-request.js';
import { deadLetter, ok, type DecodeResult } from './results.js';

/**
 * Turns one Kafka message (or one JSON line) in the canonical TokenRequest format into a
 * result. It never throws: malformed input becomes a dead-letter result whose reason names
 * the first failing field, because a throw inside a consumer would retry the same offset forever.
 */
export function decodeCanonical(bytes: Buffer | string | null): DecodeResult {
  if (bytes === null || bytes.length === 0) return deadLetter('empty message');
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8 quotes a slice of the input in its message; the input may hold a secret.
    return deadLetter(`not JSON: ${(error as Error).message.replace(/"[^]*"/g, '…')}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return deadLetter(`invalid TokenRequest: expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  const result = tokenRequestSchema.safeParse(parsed);
  if (!result.success) return deadLetter(`invalid TokenRequest: ${describeIssue(result.error)}`);
  // Storage gets the zod output re-serialised, never the original text: only then does
  // ClickHouse read exactly what was validated (duplicate keys, `1.7e12` or `123.0` times and
  // unknown fields would otherwise be read differently, or fail the whole batch).
  return ok(result.data, JSON.stringify(result.data));
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown schema error';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
