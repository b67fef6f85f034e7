import type { TokenRequest } from '../events/token-request.js';

/**
 * A validated TokenRequest as one row of `token_requests`, in ClickHouse's TabSeparated
 * format: the one encoding every writer uses (insert-token-requests.sql names the columns in
 * TOKEN_REQUEST_COLUMNS' order).
 *
 * Why TabSeparated, and why here: ClickHouse reads it column by column with no JSON parsing and
 * no input view (before migration 0015 every row went through JSONEachRow into a Null table and a
 * materialized view that parsed times, mapped addresses and flattened tuples), and writing it
 * costs less than JSON.stringify. The embedded engine takes insert data as text (chDB appends it
 * to the statement), so a binary format (RowBinary) is not an option there; a server takes the
 * same text over HTTP.
 *
 * Every value is written so that ClickHouse reads back exactly what was validated:
 * - strings: `\`, tab, line feed, carriage return and NUL escaped (`\\ \t \n \r \0`), everything
 *   else as it is; ClickHouse unescapes them on read (and reads `\N` as NULL only when it is not
 *   escaped, which a string's backslash always is);
 * - arrays (scopes): `['a','b']`, each element a quoted string with `\` and `'` escaped as well,
 *   since ClickHouse parses an array field without unescaping the field first;
 * - time: epoch seconds with three decimals (`1764244800.123`), which DateTime64(3) reads as
 *   such; assertion iat/exp: epoch seconds, or `\N` when absent (Nullable columns); seconds
 *   always with at least 10 digits (tenDigits);
 * - source_ip: as validated (IPv4 text becomes IPv4-mapped IPv6 in the column);
 * - assertion.aud: an array of audiences joined with spaces, as the input view did;
 * - absent optional fields: '' (strings), 0 (asn), false (flags): the columns' defaults.
 *
 * Strings must be well-formed UTF-16: the schema refuses a lone surrogate in an identifier and
 * replaces it in free text, and raw is JSON.stringify's (always well-formed) output. A lone
 * surrogate reaching this module would be stored as U+FFFD by the UTF-8 conversion, not refused.
 */

/** What enrichment adds beside the validated event (services/ingest/src/enrich). */
export interface RowEnrichment {
  readonly geo_source: string;
  readonly ip_scope: string;
  readonly hosting_provider?: string;
}

/** A validated event as storage takes it: the schema's output, enriched when an enricher ran. */
export type StoredTokenRequest = TokenRequest & { readonly enrichment?: RowEnrichment };

/** The columns of each row, in order; insert-token-requests.sql lists the same (a unit test checks). */
export const TOKEN_REQUEST_COLUMNS = [
  'event_id',
  'time',
  'idp',
  'tenant',
  'client_id',
  'client_name',
  'grant_type',
  'auth_method',
  'credential_id',
  'outcome',
  'error_code',
  'source_ip',
  'user_agent',
  'scopes',
  'audience',
  'assertion_jti',
  'assertion_iat',
  'assertion_exp',
  'assertion_iss',
  'assertion_sub',
  'assertion_aud',
  'assertion_kid',
  'assertion_alg',
  'replay_reported',
  'assertion_unverified',
  'country',
  'city',
  'asn',
  'as_org',
  'geo_source',
  'ip_scope',
  'hosting_provider',
  'raw',
] as const;

/**
 * The event as one TabSeparated line without its line feed. `raw` is the allowlisted, redacted
 * source record (formats/raw.ts), '' for canonical input.
 */
export function encodeTokenRequestRow(event: StoredTokenRequest, raw = ''): string {
  const { assertion, geo, enrichment } = event;
  const aud = assertion?.aud;
  // One array joined once: V8 builds the line in a single copy, where a template literal of 33
  // parts builds a chain of intermediate strings and costs twice as much (bench:decode).
  // idp, auth_method, outcome (enums) and source_ip (an address) hold no special character.
  return [
    text(event.event_id),
    epochSeconds(event.time),
    event.idp,
    text(event.tenant),
    text(event.client_id),
    optionalText(event.client_name),
    text(event.grant_type),
    event.auth_method,
    optionalText(event.credential_id),
    event.outcome,
    optionalText(event.error_code),
    event.source_ip,
    optionalText(event.user_agent),
    array(event.scopes),
    optionalText(event.audience),
    optionalText(assertion?.jti),
    optionalSeconds(assertion?.iat),
    optionalSeconds(assertion?.exp),
    optionalText(assertion?.iss),
    optionalText(assertion?.sub),
    optionalText(Array.isArray(aud) ? aud.join(' ') : aud),
    optionalText(assertion?.kid),
    optionalText(assertion?.alg),
    event.replay_reported === true ? 'true' : 'false',
    event.assertion_unverified === true ? 'true' : 'false',
    optionalText(geo?.country),
    optionalText(geo?.city),
    geo?.asn ?? 0,
    optionalText(geo?.as_org),
    optionalText(enrichment?.geo_source),
    optionalText(enrichment?.ip_scope),
    optionalText(enrichment?.hosting_provider),
    text(raw),
  ].join('\t');
}

// One character class each, no nesting: linear in the string.
const TEXT_SPECIAL = /[\\\t\n\r\0]/;
const TEXT_SPECIALS = /[\\\t\n\r\0]/g;
const QUOTED_SPECIAL = /[\\'\t\n\r\0]/;
const QUOTED_SPECIALS = /[\\'\t\n\r\0]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', "'": "\\'", '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const escapeOne = (special: string): string => ESCAPES[special] ?? special;

/** A String field: escaped only when it holds a special character (most values hold none). */
function text(value: string): string {
  return TEXT_SPECIAL.test(value) ? value.replace(TEXT_SPECIALS, escapeOne) : value;
}

function optionalText(value: string | undefined): string {
  return value === undefined ? '' : text(value);
}

/** An Array(String) field: `['a','b\'c']`. */
function array(values: readonly string[]): string {
  if (values.length === 0) return '[]';
  return `['${values.map(quoted).join("','")}']`;
}

function quoted(value: string): string {
  return QUOTED_SPECIAL.test(value) ? value.replace(QUOTED_SPECIALS, escapeOne) : value;
}

/**
 * Epoch seconds as ClickHouse's text parsers read them: at least 10 digits, zero-padded. A
 * shorter number is read as a date (`5`, `86400` and `100000.000` are refused: "unexpected
 * number of decimal digits"), so a NumericDate of 0 or 5, which the schema allows, would get
 * the whole insert refused.
 */
function tenDigits(seconds: number): string {
  return seconds >= 1_000_000_000 ? String(seconds) : String(seconds).padStart(10, '0');
}

/** Epoch milliseconds as seconds with three decimals (the schema keeps times after 2000, so positive). */
function epochSeconds(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const millis = ms - seconds * 1000;
  return `${tenDigits(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}

/** A NumericDate (whole seconds) for a Nullable(DateTime) column. */
function optionalSeconds(seconds: number | undefined): string {
  return seconds === undefined ? '\\N' : tenDigits(seconds);
}
