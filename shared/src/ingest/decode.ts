import type { z } from 'zod';
import { assertionClaimsSchema, geoSchema, tokenRequestSchema } from '../events/token-request.js';
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
    return deadLetter(`invalid TokenRequest: expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  const result = tokenRequestSchema.safeParse(parsed);
  if (!result.success) return deadLetter(`invalid TokenRequest: ${describeIssue(result.error)}`);
  // Forward the original text when it holds nothing but contract fields (the common case,
  // and it saves re-serialising); otherwise the zod output, which has dropped the extras.
  const json = hasOnlyContractKeys(parsed as Record<string, unknown>) ? text : JSON.stringify(result.data);
  return ok(result.data, json);
}

const TOP_KEYS = new Set(Object.keys(tokenRequestSchema.shape));
const NESTED_KEYS: Record<string, Set<string>> = {
  assertion: new Set(Object.keys(assertionClaimsSchema.shape)),
  geo: new Set(Object.keys(geoSchema.shape)),
};

function hasOnlyContractKeys(record: Record<string, unknown>): boolean {
  for (const key in record) {
    if (!TOP_KEYS.has(key)) return false;
    const nested = NESTED_KEYS[key];
    if (nested) {
      for (const inner in record[key] as Record<string, unknown>) if (!nested.has(inner)) return false;
    }
  }
  return true;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown schema error';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
