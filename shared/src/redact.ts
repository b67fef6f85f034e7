/**
 * Removes credentials from records that leave the validated path (dead-lettered messages,
 * rejects files and log lines), which by definition have an unknown shape, and from the
 * free text of valid events (redactStrings): the schema strips unknown keys, but a known
 * free-text field can still hold a credential someone pasted or a client sent.
 */

export const REDACTED = '[REDACTED]';

// Keys whose value is a credential whatever it looks like. Compared lower-cased, with
// dashes and underscores removed, so `Client-Secret`, `clientSecret` and `client_secret` match.
const SECRET_KEYS = new Set(
  [
    'client_secret',
    'client_assertion',
    'assertion',
    'authorization',
    'proxy_authorization',
    'cookie',
    'set_cookie',
    'password',
    'passwd',
    'secret',
    'code',
    'code_verifier',
    'refresh_token',
    'access_token',
    'id_token',
    'token',
    'subject_token',
    'actor_token',
    'private_key',
    'api_key',
    'x_api_key',
  ].map(normaliseKey),
);

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

// A JWT or JWS in compact form (header.payload[.signature]); assertions and access tokens.
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?/g;
// HTTP credentials in a header value: `Basic base64`, `Bearer token`.
const HTTP_CREDENTIALS = /\b(Basic|Bearer|Digest|DPoP)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
// Form-, query- or JSON-encoded secrets: client_secret=..., "client_secret": "a b \" c".
// The key must stand alone (`error_code` is not `code`); a quoted value is consumed whole,
// escaped quotes included, so no tail of a secret survives.
const ENCODED_SECRET =
  /(?<![\w-])(["']?)(client[_-]?secret|client[_-]?assertion|password|refresh[_-]?token|access[_-]?token|code)\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^&\s,}"']+)/gi;

// Credentials embedded in a URL: https://user:password@host/... (webhook URLs, DSNs).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

// Every pattern above needs one of these words (case-insensitive): a string without any is
// returned as is after one scan instead of three, which is most strings of a valid event.
const MAY_HOLD_SECRET = /eyJ|basic|bearer|digest|dpop|secret|assertion|password|token|code|:\/\/[^\s/]*@/i;

export function redactText(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return text
    .replace(JWT, REDACTED)
    .replace(URL_CREDENTIALS, (_match, scheme: string) => `${scheme}${REDACTED}@`)
    .replace(HTTP_CREDENTIALS, (_match, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(ENCODED_SECRET, (_match, quote: string, key: string, separator: string, value: string) => {
      const valueQuote = value.startsWith('"') || value.startsWith("'") ? (value[0] as string) : '';
      return `${quote}${key}${quote}${separator}${valueQuote}${REDACTED}${valueQuote}`;
    });
}

/** Deep copy of a parsed JSON value with every secret-bearing key and string redacted. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      copy[key] = SECRET_KEYS.has(normaliseKey(key)) ? redactSecretValue(inner) : redactValue(inner);
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
