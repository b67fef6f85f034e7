import type { AuthMethod } from '@tokenwatch/shared/events/token-request';
import type { FormatName } from '@tokenwatch/shared/events/source-formats';
import { redactText } from '@tokenwatch/shared/redact';
import type { Adapted } from '../results.js';
import { clip } from './fields.js';

export type { FormatName };

/**
 * One IdP's log format. JSON formats implement `matches`/`adapt`; formats that arrive as log
 * lines (Keycloak's jboss-logging output) implement `matchesText`/`adaptText` as well or instead.
 * Adapters never throw and never copy a secret into the event: they pick the fields they map.
 */
export interface FormatAdapter {
  readonly name: FormatName;
  /**
   * The fields of the source record kept in the `raw` column (see formats/raw.ts: dot paths,
   * `[]` for arrays). Fail-closed: everything not listed is dropped. Never list request bodies,
   * headers, free-form debug blobs, tokens or secrets.
   */
  readonly rawFields: readonly string[];
  /** A cheap structural test on a parsed JSON value, used for auto-detection. */
  matches(record: Record<string, unknown>): boolean;
  /** Translates one record; an envelope (a batch of records) yields several results. */
  adapt(record: Record<string, unknown>): Adapted[];
  matchesText?(text: string): boolean;
  adaptText?(text: string): Adapted[];
}

/** Maps a vendor's auth-method value; anything unrecognised becomes `unknown` (and is counted). */
export function mapAuthMethod(
  value: unknown,
  table: Readonly<Record<string, AuthMethod>>,
): { method: AuthMethod; unknownAuthMethod?: string } {
  if (typeof value !== 'string' || value === '') return { method: 'unknown' };
  // Own keys only: `constructor` or `toString` must not resolve to Object.prototype members.
  const lookup = (key: string) => (Object.hasOwn(table, key) ? table[key] : undefined);
  const method = lookup(value) ?? lookup(value.toLowerCase());
  // The unmapped value becomes a metrics label: bounded, well-formed, and never a credential
  // someone put in the field.
  return method ? { method } : { method: 'unknown', unknownAuthMethod: redactText(clip(value, UNKNOWN_METHOD_LENGTH) ?? '').toWellFormed() };
}

/** How much of an unmapped auth-method value is kept (the metrics label takes 64 characters). */
const UNKNOWN_METHOD_LENGTH = 64;
