/**
 * Removes credentials from records that leave the validated path: dead-lettered messages,
 * rejects files and log lines. Valid events never carry secrets (the schema strips unknown
 * keys); this is for everything else, which by definition has an unknown shape.
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
// Form- or query-encoded secrets: client_secret=..., "client_secret": "...".
const ENCODED_SECRET =
  /(["']?(?:client[_-]?secret|client[_-]?assertion|password|refresh[_-]?token|access[_-]?token|code)["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;

export function redactText(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(HTTP_CREDENTIALS, (_match, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(ENCODED_SECRET, (_match, prefix: string) => `${prefix}${REDACTED}`);
}

/** Deep copy of a parsed JSON value with every secret-bearing key and string redacted. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      // A secret key holding an object (the decoded `assertion` claims) is walked, not
      // dropped: its scalars are what can be secret.
      const isScalar = inner !== null && inner !== '' && typeof inner !== 'object';
      copy[key] = isScalar && SECRET_KEYS.has(normaliseKey(key)) ? REDACTED : redactValue(inner);
    }
    return copy;
  }
  return value;
}

/**
 * Redacts raw message bytes. JSON stays JSON (re-serialised only when something changed);
 * anything else is treated as text. `changed` tells the caller to mark the copy as redacted.
 */
export function redactBytes(bytes: Buffer): { bytes: Buffer; changed: boolean } {
  const text = bytes.toString('utf8');
  let redacted: string;
  try {
    const parsed: unknown = JSON.parse(text);
    const cleaned = JSON.stringify(redactValue(parsed));
    redacted = cleaned === JSON.stringify(parsed) ? text : cleaned;
  } catch {
    redacted = redactText(text);
  }
  return redacted === text ? { bytes, changed: false } : { bytes: Buffer.from(redacted, 'utf8'), changed: true };
}
