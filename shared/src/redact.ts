/**
 * Removes credentials from records that leave the validated path (dead-lettered messages,
 * rejects files and log lines), which by definition have an unknown shape, and from the
 * free text of valid events (redactStrings): the schema strips unknown keys, but a known
 * free-text field can still hold a credential someone pasted or a client sent.
 */

export const REDACTED = '[REDACTED]';

/**
 * The one word list, for JSON keys and for `key=value` / `key: value` / `"key": "value"` in
 * text alike. A key is compared normalised (lower-case, `-`, `_`, `.` and spaces removed), and a
 * word matches anywhere in it, so `X-Client-Secret`, `client_secret_value`, `subject_token`,
 * `x-api-key` and `MyServicePassword` are all secret-named.
 */
const SECRET_WORDS = ['secret', 'password', 'passwd', 'passphrase', 'token', 'assertion', 'authorization', 'cookie', 'credentials', 'codeverifier'];

/** Words that name a secret only as the whole key, or as its end (`code`, `auth_code`; `api_key`, `private_key`). */
const SECRET_KEY_ENDINGS = ['apikey', 'privatekey', 'accesskey', 'signingkey', 'clientkey', 'sessionkey', 'masterkey', 'sharedkey', 'hmackey'];
const SECRET_WHOLE_KEYS = new Set(['code', 'authcode', 'devicecode', 'usercode', 'key', 'pwd']);

/**
 * Endings of keys that describe a secret without holding it: `token_id` (Keycloak's id of the
 * token it issued), `token_type`, `token_type_hint`, `client_assertion_type`, `token_endpoint`,
 * and `TokenRequest`, the contract's own name, which starts every schema reason
 * (`invalid TokenRequest: source_ip: …` must keep naming the field).
 */
const NOT_SECRET_ENDINGS = ['id', 'ids', 'type', 'typehint', 'endpoint', 'url', 'uri', 'authmethod', 'tokenrequest'];

/**
 * Keys that contain a secret word but name no secret; they hold what an investigation needs
 * (`client_assertion_type`, `token_endpoint_auth_method`) and stay readable.
 */
const NOT_SECRET_KEYS = new Set([
  'clientassertiontype',
  'assertiontype',
  'assertionjti',
  'tokentype',
  'tokenendpoint',
  'tokenendpointauthmethod',
  'tokenurl',
  'tokenuri',
  'authorizationendpoint',
  'authorizationurl',
  'authorizationserver',
]);

/** Longest key looked at; a longer one is not a name but data, and is treated as secret-named. */
const MAX_KEY_CHARS = 256;

export function isSecretKey(key: string): boolean {
  if (key.length > MAX_KEY_CHARS) return true;
  const normalised = normaliseKey(key);
  if (NOT_SECRET_KEYS.has(normalised) || NOT_SECRET_ENDINGS.some((ending) => normalised.endsWith(ending))) return false;
  if (SECRET_WHOLE_KEYS.has(normalised)) return true;
  return SECRET_WORDS.some((word) => normalised.includes(word)) || SECRET_KEY_ENDINGS.some((ending) => normalised.endsWith(ending));
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

/**
 * Longest text redactText scans. Beyond it the text is cut (and says so): every pattern below
 * is linear, but a multi-megabyte string in a dead letter or log line is not worth keeping
 * whole, and a cut tail cannot leak.
 */
export const MAX_REDACT_CHARS = 1_048_576;

// `key = value`, `key: value`, `"key": "value"`, `'key'='value'`: every key-value pair of form,
// query, header, log or broken-JSON text, whatever its key; isSecretKey decides. A bare key
// starts where a word starts (the look-behind), so each run of word characters is tried once;
// a quoted key (which may hold spaces, as JSON keys do) is at most 256 characters: linear. A
// quoted value is consumed whole, escaped quotes included, so no tail of a secret survives.
// An unquoted value stops at `=` and `?`, so that in `https://host/?token=x` or `a=b&token=x`
// the next pair is found by the same left-to-right scan, never by scanning a value again.
const KEY_VALUE =
  /(?<![\w.-])(?:"(?<doubleQuoted>[^"\\\r\n]{1,256})"|'(?<singleQuoted>[^'\\\r\n]{1,256})'|(?<bare>[A-Za-z_][\w.-]*))[ \t]*[:=][ \t]*(?<value>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^&\s,;}"'][^&\s,;}"'=?]*)/g;

/** Where an unquoted secret value ends: wider than KEY_VALUE's, so `a=b=c` and `x?y` go whole. */
const UNQUOTED_VALUE_END = /[&\s,;}"']/;

// What follows a secret's value when that value was itself a key (`cookie= "password": "x"`,
// `cookie= refresh_token: x`): a separator (already eaten by an unquoted value ending in `:`)
// and the next value, which is then secret too. Sticky, tried at the end of the value only, and
// each try eats at least one character: linear.
const SEPARATED_VALUE = /[ \t]*[:=][ \t]*(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^&\s,;}"'][^&\s,;}"'=?]*)/y;
const SPACED_VALUE = /[ \t]+(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^&\s,;}"'][^&\s,;}"'=?]*)/y;

// HTTP credentials, `Basic …`, `Bearer …`, of any charset up to white space, a quote or a
// closing bracket (`(Authorization: Bearer abc)` in a user agent keeps its `)`). The
// scheme is kept (it says what kind of credential was there); eight characters at least, so
// prose such as "bearer of" survives.
const HTTP_SCHEMES = ['basic', 'bearer', 'digest', 'dpop', 'negotiate'];
const HTTP_CREDENTIALS = /(?<![\w-])(Basic|Bearer|Digest|DPoP|Negotiate)[ \t]+([^\s"'`<>)\]}]{8,})/gi;

// `Authorization: Token abc` and other schemes this module does not know: after an
// authorization key, the whole rest of the value (to the end of the line or quote) goes.
const AUTHORIZATION_VALUE = /(?<![\w-])((?:proxy[-_]?)?authorization["']?[ \t]*[:=][ \t]*["']?)(?!(?:basic|bearer|digest|dpop|negotiate)[ \t])([^\s"'&][^\r\n"'&]*)/gi;

// A compact JWS/JWT: two or three base64url segments. Only a candidate whose first segment
// decodes to a JSON object is redacted, so `a.b.c` host names and versions stay; the header may
// start with any bytes (`{ "alg"`, `{"kid"`), not just `eyJ`. Each segment has an upper
// bound and the classes exclude the `.` between them: linear.
const JWT_CANDIDATE = /(?<![\w-])([\w-]{8,16384})\.([\w-]{2,262144})(?:\.([\w-]{0,16384}))?(?![\w-])/g;

// Credentials embedded in a URL: https://user:password@host/... (webhook URLs, DSNs).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

/**
 * A character every pattern below needs: JWT_CANDIDATE a `.`, URL_CREDENTIALS an `@`,
 * AUTHORIZATION_VALUE and KEY_VALUE a `:` or `=`, HTTP_CREDENTIALS a space or tab. Most strings
 * of an event (ids, uuids, enum values) hold none and are returned after this one scan: it runs
 * on every string of every event (redaction was 11% of the ingest main thread in a profile, docs/benchmarks.md).
 */
const ANY_PATTERN_NEEDS = /[.@:= \t]/;

export function redactText(input: string): string {
  if (input.length <= MAX_REDACT_CHARS && !ANY_PATTERN_NEEDS.test(input)) return input;
  const text = input.length > MAX_REDACT_CHARS ? `${input.slice(0, MAX_REDACT_CHARS)}…[TRUNCATED ${input.length - MAX_REDACT_CHARS} chars]` : input;
  let out = text;
  if (out.includes('.')) out = out.replace(JWT_CANDIDATE, (match: string, header: string) => (isJwtHeader(header) ? REDACTED : match));
  if (out.includes('@')) out = out.replace(URL_CREDENTIALS, (_match, scheme: string) => `${scheme}${REDACTED}@`);
  if (/[:=]/.test(out)) {
    out = out.replace(AUTHORIZATION_VALUE, (_match, prefix: string, value: string) => `${prefix}${keepScheme(value)}${REDACTED}`);
  }
  // A value already redacted by the rules above is left alone (`]` ends the value here).
  if (/[ \t]/.test(out)) {
    out = out.replace(HTTP_CREDENTIALS, (match: string, scheme: string, value: string) => (value.startsWith(REDACTED.slice(0, -1)) ? match : `${scheme} ${REDACTED}`));
  }
  if (/[:=]/.test(out)) out = redactKeyValues(out);
  return out === text ? input : out;
}

/**
 * Every KEY_VALUE pair whose key is secret-named loses its value, in one left-to-right scan.
 * The quoted value of a pair that is not secret-named (`"note": "client_secret=..."` in JSON
 * that does not parse) is scanned as text of its own, one level deep per kind of quote; its
 * content is a part of the text, so each character is looked at a bounded number of times.
 */
function redactKeyValues(text: string, depth = 0): string {
  const pattern = new RegExp(KEY_VALUE.source, 'g');
  let out = '';
  let copied = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const whole = match[0];
    const groups = match.groups ?? {};
    const key = groups.doubleQuoted ?? groups.singleQuoted ?? groups.bare ?? '';
    const value = groups.value ?? '';
    const valueStart = match.index + whole.length - value.length;
    const valueQuote = value.startsWith('"') || value.startsWith("'") ? (value[0] as string) : '';
    if (!isSecretKey(key) || value.startsWith(REDACTED) || HTTP_SCHEMES.includes(value.toLowerCase())) {
      if (valueQuote && depth < 2 && value.length > 2) {
        const inner = redactKeyValues(value.slice(1), depth + 1);
        if (inner !== value.slice(1)) {
          out += `${text.slice(copied, valueStart + 1)}${inner}`;
          copied = valueStart + value.length;
        }
      }
      continue;
    }
    let valueEnd = valueStart + value.length;
    if (!valueQuote) {
      while (valueEnd < text.length && !UNQUOTED_VALUE_END.test(text[valueEnd] as string)) valueEnd += 1;
    }
    valueEnd = endOfChainedValues(text, valueEnd, !valueQuote && text[valueEnd - 1] === ':');
    pattern.lastIndex = valueEnd;
    const closing = valueQuote && value.length > 1 && value.endsWith(valueQuote) ? valueQuote : '';
    out += `${text.slice(copied, valueStart)}${valueQuote}${REDACTED}${closing || valueQuote}`;
    copied = valueEnd;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Where the redaction of a secret value ends: past every value chained to it by a separator
 * (`cookie= "password": "x"` has `"password"` as the cookie's value and `"x"` after it).
 * `afterColon`: the value ended in `:` itself, so the next value needs only white space before it.
 */
function endOfChainedValues(text: string, from: number, afterColon: boolean): number {
  let end = from;
  for (let pattern = afterColon ? SPACED_VALUE : SEPARATED_VALUE; ; pattern = SEPARATED_VALUE) {
    pattern.lastIndex = end;
    if (!pattern.test(text)) return end;
    end = pattern.lastIndex;
  }
}

/** `Basic ` / `Bearer ` and the like at the start of an authorization value, kept; else nothing. */
function keepScheme(value: string): string {
  const space = value.search(/[ \t]/);
  if (space <= 0) return '';
  const scheme = value.slice(0, space);
  return /^[A-Za-z][\w-]{0,31}$/.test(scheme) ? `${scheme} ` : '';
}

/** Whether a base64url segment decodes to a JSON object: the header of a JWS or JWE. */
function isJwtHeader(segment: string): boolean {
  const decoded = Buffer.from(segment, 'base64url').toString('utf8');
  if (!decoded.trimStart().startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(decoded);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** Deep copy of a parsed JSON value with every secret-bearing key and string redacted. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      copy[key] = isSecretKey(key) ? redactSecretValue(inner) : redactValue(inner);
    }
    return copy;
  }
  return value;
}

/**
 * `value` with every string in it, at any depth, passed through redactText; keys are left
 * alone. For a validated TokenRequest: its free-text fields (user_agent, client_name,
 * error_code, audience, scopes, credential_id, assertion claims, ...) come from whatever the
 * client or IdP wrote, so a `Bearer …`, a JWT or `client_secret=…` can hide in any of them.
 * Copy-on-write: what holds nothing to redact comes back as the same object, unallocated.
 */
export function redactStrings<T>(value: T): T {
  return redactDeep(value) as T;
}

// Plain loops, no Object.entries: this runs for every string of every stored event.
function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      const redacted = redactDeep(item);
      if (redacted !== item) (copy ??= [...value])[i] = redacted;
    }
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      const inner = record[key];
      const redacted = redactDeep(inner);
      if (redacted !== inner) (copy ??= { ...record })[key] = redacted;
    }
    return copy ?? value;
  }
  return value;
}

/**
 * The value of a secret-named key: every scalar in it goes. An object under such a key (the
 * decoded `assertion` claims) is walked like any other, since its keys say what is secret.
 */
function redactSecretValue(value: unknown): unknown {
  if (value === null || value === '') return value;
  if (Array.isArray(value)) return value.map(redactSecretValue);
  if (typeof value === 'object') return redactValue(value);
  return REDACTED;
}

/** A record's text with secrets removed: JSON-aware when it parses, pattern-based otherwise. */
export function redactRecord(text: string): { text: string; changed: boolean } {
  let redacted: string;
  try {
    const parsed: unknown = JSON.parse(text);
    const cleaned = JSON.stringify(redactValue(parsed));
    redacted = cleaned === JSON.stringify(parsed) ? text : cleaned;
  } catch {
    redacted = redactText(text);
  }
  return { text: redacted, changed: redacted !== text };
}

/** redactRecord for raw message bytes; unchanged input comes back as the same Buffer. */
export function redactBytes(bytes: Buffer): { bytes: Buffer; changed: boolean } {
  const { text, changed } = redactRecord(bytes.toString('utf8'));
  return changed ? { bytes: Buffer.from(text, 'utf8'), changed } : { bytes, changed };
}
