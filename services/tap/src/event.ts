import { isIPv4, isIPv6 } from 'node:net';
import { tokenRequestSchema, UNKNOWN, type AuthMethod, type TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { redactStrings } from '@tokenwatch/shared/redact';
import { CidrSet, normaliseIp } from '@tokenwatch/shared/net/cidr';
import { decodeJwtUnverified } from './jwt.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Messages IdPs put in error / error_description when a client assertion's jti was seen before. */
export const REPLAY_PATTERNS: readonly RegExp[] = [
  /must only be used once/i, // node-oidc-provider (error_detail, when the deployment exposes it)
  /already (?:been )?used/i, // Keycloak, fosite/Hydra ("The jti was already used.")
  /\bjti_known\b/i, // Hydra / fosite error code
  /token reuse/i, // Keycloak "Token reuse detected"
  /\breplay/i,
];

/** Everything the tap saw of one proxied token request. */
export interface ObservedExchange {
  readonly eventId: string;
  /** When the request arrived, epoch milliseconds. */
  readonly time: number;
  readonly tenant: string;
  /** The address of the direct TCP peer. */
  readonly peerAddress: string;
  /** Request headers as node:http gives them (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The complete request body, or undefined when it was larger than the capture limit. */
  readonly body: Buffer | undefined;
  readonly status: number;
  /** The (decompressed) response body, possibly truncated to the capture limit. */
  readonly responseBody: string;
  readonly trustedProxies: CidrSet;
}

const MAX_NUMERIC_DATE = 4_294_967_295;

function header(headers: ObservedExchange['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function str(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined;
}

function numericDate(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_NUMERIC_DATE ? value : undefined;
}

function audience(value: unknown): string | string[] | undefined {
  if (typeof value === 'string') return value.slice(0, 1024);
  if (Array.isArray(value)) {
    const list = value.filter((item): item is string => typeof item === 'string').slice(0, 16).map((item) => item.slice(0, 1024));
    return list.length > 0 ? list : undefined;
  }
  return undefined;
}

/** Form fields of an application/x-www-form-urlencoded body; empty for any other body. */
export function parseForm(headers: ObservedExchange['headers'], body: Buffer | undefined): URLSearchParams {
  const type = header(headers, 'content-type') ?? '';
  if (!body || !/^application\/x-www-form-urlencoded\b/i.test(type.trim())) return new URLSearchParams();
  return new URLSearchParams(body.toString('utf8'));
}

/** The username of a `Basic` Authorization header (RFC 6749 §2.3.1: form-encoded); the password is dropped here. */
export function basicUsername(authorization: string | undefined): string | undefined {
  const match = /^\s*Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const raw = colon === -1 ? decoded : decoded.slice(0, colon);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

export function isBasicAuthorization(authorization: string | undefined): boolean {
  return /^\s*Basic\s+\S/i.test(authorization ?? '');
}

/** The client's address: the peer, or, when the peer is a trusted proxy, the nearest untrusted X-Forwarded-For hop. */
export function sourceIp(peerAddress: string, forwardedFor: string | undefined, trusted: CidrSet): string {
  let candidate = normaliseIp(peerAddress);
  if (!forwardedFor || !trusted.has(candidate)) return candidate;
  const hops = forwardedFor.split(',').map((hop) => normaliseIp(hop.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!(isIPv4(hop) || (isIPv6(hop) && !hop.includes('%')))) break; // a garbled hop: stop at the last good one
    candidate = hop;
    if (!trusted.has(hop)) break;
  }
  return candidate;
}

export function authMethodOf(form: URLSearchParams, alg: string | undefined, authorization: string | undefined): AuthMethod {
  if (form.get('client_assertion_type') === JWT_BEARER_ASSERTION_TYPE && form.get('client_assertion')) {
    if (alg && /^(?:RS|PS|ES)\d+K?$|^EdDSA$|^Ed(?:25519|448)$/.test(alg)) return 'private_key_jwt';
    if (alg && /^HS\d+$/.test(alg)) return 'client_secret_jwt';
    return 'unknown'; // an assertion that does not decode, or alg "none"
  }
  if (isBasicAuthorization(authorization)) return 'client_secret_basic';
  if (form.has('client_secret')) return 'client_secret_post';
  return 'none';
}

export function isReplayMessage(text: string | undefined): boolean {
  return !!text && REPLAY_PATTERNS.some((pattern) => pattern.test(text));
}

function oauthError(responseBody: string): { error?: string; description?: string } {
  try {
    const parsed: unknown = JSON.parse(responseBody);
    if (parsed === null || typeof parsed !== 'object') return {};
    const { error, error_description: description } = parsed as Record<string, unknown>;
    return { ...(typeof error === 'string' ? { error } : {}), ...(typeof description === 'string' ? { description } : {}) };
  } catch {
    return {};
  }
}

/**
 * The canonical TokenRequest for one proxied exchange. Pure: the same input gives the same
 * event. Reads the client_assertion's header and claims only; never copies the assertion, its
 * signature, a client_secret or an Authorization value into the event.
 */
export function buildTapEvent(exchange: ObservedExchange): TokenRequestInput {
  const form = parseForm(exchange.headers, exchange.body);
  const authorization = header(exchange.headers, 'authorization');
  const assertionText = form.get('client_assertion');
  const decoded = assertionText ? decodeJwtUnverified(assertionText) : undefined;
  const alg = str(decoded?.header.alg, 32);
  const claims = decoded?.claims ?? {};

  const assertion = decoded
    ? Object.fromEntries(
        Object.entries({
          jti: str(claims.jti, 256),
          iat: numericDate(claims.iat),
          exp: numericDate(claims.exp),
          iss: str(claims.iss, 512),
          sub: str(claims.sub, 512),
          aud: audience(claims.aud),
          kid: str(decoded.header.kid, 256),
          alg,
        }).filter(([, value]) => value !== undefined),
      )
    : undefined;

  const clientId =
    str(claims.sub, 256) ?? str(claims.iss, 256) ?? str(form.get('client_id'), 256) ?? str(basicUsername(authorization), 256) ?? UNKNOWN;
  const success = exchange.status >= 200 && exchange.status < 300;
  // The tap never checks a signature; the IdP's token is what vouches for the claims. Without
  // one (the IdP refused the request), or when the request carried another credential too (the
  // token may be for that one), the claims are only the caller's word: anyone can name any
  // client and jti in a request the IdP refuses.
  const vouched = success && !isBasicAuthorization(authorization) && !form.has('client_secret');
  const { error, description } = oauthError(exchange.responseBody);
  const replay = !success && (isReplayMessage(description) || isReplayMessage(error));
  const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean).slice(0, 256).map((scope) => scope.slice(0, 256));
  const userAgent = str(header(exchange.headers, 'user-agent'), 1024);
  const requestedAudience = str(form.get('audience') ?? form.get('resource') ?? undefined, 1024);

  return {
    event_id: exchange.eventId,
    time: new Date(exchange.time).toISOString(),
    idp: 'generic',
    tenant: exchange.tenant.slice(0, 256),
    client_id: clientId,
    grant_type: str(form.get('grant_type'), 128) ?? UNKNOWN,
    auth_method: authMethodOf(form, alg, authorization),
    outcome: success ? 'success' : 'failure',
    ...(error ? { error_code: error.slice(0, 128) } : {}),
    source_ip: sourceIp(exchange.peerAddress, header(exchange.headers, 'x-forwarded-for'), exchange.trustedProxies),
    ...(userAgent ? { user_agent: userAgent } : {}),
    scopes,
    ...(requestedAudience ? { audience: requestedAudience } : {}),
    ...(assertion ? { assertion } : {}),
    ...(replay ? { replay_reported: true } : {}),
    ...(assertion && !vouched ? { assertion_unverified: true } : {}),
  };
}

/**
 * buildTapEvent, checked against the TokenRequest schema; an error names the first bad field.
 * Its free text (user agent, scope, audience, client id) is what the caller sent: credential
 * patterns are redacted here too, so that the topic never holds one either, not only storage.
 */
export function buildValidTapEvent(exchange: ObservedExchange): { event: TokenRequestInput } | { error: string } {
  const event = buildTapEvent(exchange);
  const result = tokenRequestSchema.safeParse(event);
  if (result.success) return { event: redactStrings(event) };
  const issue = result.error.issues[0];
  return { error: `${issue?.path.join('.') ?? 'event'}: ${issue?.message ?? 'invalid'}` };
}
