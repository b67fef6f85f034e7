import { createHash } from 'node:crypto';

/**
 * A deterministic event id for records that carry none (Keycloak events, log lines): a hash
 * of the format and the record's canonical JSON (keys sorted), so a re-sent line gets the same
 * id and storage deduplicates it.
 */
export function stableEventId(format: string, record: unknown): string {
  return `${format}:${createHash('sha256').update(canonicalJson(record)).digest('hex').slice(0, 32)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
