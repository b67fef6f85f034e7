import { stableEventId } from './event-id.js';
import { mapAuthMethod, type FormatAdapter } from './types.js';
import { deadLetter, parsed, type Adapted, type Parsed } from '../results.js';
import { OAUTH_AUTH_METHODS, candidate, isObject, resultsFor, scopesOf } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('oidc-provider');

/**
 * node-oidc-provider (npm `oidc-provider`, panva) writes no log of its own: it emits events
 * (`grant.success` (ctx), `grant.error` (ctx, error), ...) and the embedding application logs
 * them. tokenwatch reads the JSON object docs/formats/oidc-provider.md asks that application to
 * write, one per token endpoint request:
 *
 *   { "source": "oidc-provider", "event": "grant.success" | "grant.error",
 *     "time": RFC 3339 string or epoch ms, "event_id"?: string,
 *     "issuer": provider.issuer, "client_id": string, "client_auth_method"?: string,
 *     "grant_type": string, "ip": string, "user_agent"?: string, "scope"?: string,
 *     "resource"?: string | string[], "error"?: string, "error_description"?: string,
 *     "error_detail"?: string, "assertion"?: { jti, iat, exp, iss, sub, aud, kid, alg } }
 *
 * Only the client_credentials grant is a machine client's token request; other grants are
 * skipped, except a rejected assertion replay, which is reported whatever the grant.
 */

/**
 * `ctx.oidc.client.clientAuthMethod` (the client's token_endpoint_auth_method) uses the
 * registered OAuth names, which are the canonical ones. `attest_jwt_client_auth` (OAuth
 * attestation-based client authentication) has no canonical name: it maps to `unknown` and is counted.
 */
const AUTH_METHODS = OAUTH_AUTH_METHODS;

const OUTCOMES: ReadonlyMap<string, 'success' | 'failure'> = new Map([
  ['grant.success', 'success'],
  ['grant.error', 'failure'],
]);

/**
 * oidc-provider's rejection of a reused client assertion jti: `InvalidClientAuth('client
 * assertion tokens must only be used once')` (lib/shared/jwt_client_auth.js) puts it in
 * `error_detail` (the error is `invalid_client`, the description 'client authentication failed');
 * old versions raised `InvalidRequestError('jwt-bearer tokens must only be used once')` instead.
 */
const REPLAY_MESSAGE = /\b(?:client assertion|jwt-bearer) tokens must only be used once\b/i;

const ASSERTION_STRINGS = ['jti', 'iss', 'sub', 'kid', 'alg'] as const;
const ASSERTION_DATES = ['iat', 'exp'] as const;

/**
 * Kept in `raw`: the fields of the documented record (docs/formats/oidc-provider.md), the
 * assertion's header and claims one by one. Anything else the application added is dropped.
 */
const RAW_FIELDS = [
  'source',
  'event',
  'time',
  'event_id',
  'issuer',
  'client_id',
  'client_auth_method',
  'grant_type',
  'ip',
  'user_agent',
  'scope',
  'resource',
  'resource[]',
  'error',
  'error_description',
  'error_detail',
  ...ASSERTION_STRINGS.map((claim) => `assertion.${claim}`),
  ...ASSERTION_DATES.map((claim) => `assertion.${claim}`),
  'assertion.aud',
  'assertion.aud[]',
];

export const oidcProviderFormat: FormatAdapter = {
  name: 'oidc-provider',
  rawFields: RAW_FIELDS,

  matches: (record) => record.source === 'oidc-provider' && typeof record.event === 'string',

  adapt: (record) => [adaptRecord(record)],
};

function adaptRecord(record: Record<string, unknown>): Adapted {
  const eventName = record.event;
  // matches() checked this, but a forced format (--format) calls adapt on any record.
  if (typeof eventName !== 'string') return dlq('event is missing or not a string');
  const outcome = OUTCOMES.get(eventName);
  if (outcome === undefined) return skip(`event ${eventName} is not a token request`);

  const strings: Record<string, string | undefined> = {};
  for (const key of ['event_id', 'issuer', 'client_id', 'client_auth_method', 'grant_type', 'ip', 'user_agent', 'scope', 'error', 'error_description', 'error_detail'] as const) {
    const value = record[key];
    if (value !== undefined && value !== null && typeof value !== 'string') return dlq(`${key} is not a string`);
    strings[key] = value === undefined || value === null || value === '' ? undefined : (value as string);
  }

  const replayReported = outcome === 'failure' && [strings.error_detail, strings.error_description].some((text) => text !== undefined && REPLAY_MESSAGE.test(text));

  if (strings.grant_type === undefined) return dlq('grant_type is missing');
  if (strings.grant_type !== 'client_credentials' && !replayReported) {
    return skip(`grant_type ${strings.grant_type} is not a machine client's token request`);
  }

  if (typeof record.time !== 'string' && !(typeof record.time === 'number' && Number.isInteger(record.time))) {
    return dlq('time is missing or neither an RFC 3339 string nor epoch milliseconds');
  }
  if (strings.issuer === undefined) return dlq('issuer is missing');
  if (strings.client_id === undefined) return dlq('client_id is missing');
  if (strings.ip === undefined) return dlq('ip is missing');

  const audience = audienceOf(record.resource);
  if (audience.kind === 'dlq') return dlq(audience.reason);
  const assertion = assertionOf(record.assertion);
  if (assertion.kind === 'dlq') return dlq(assertion.reason);

  const { method, unknownAuthMethod } = mapAuthMethod(strings.client_auth_method, AUTH_METHODS);
  const event: Record<string, unknown> = {
    event_id: strings.event_id ?? stableEventId('oidc-provider', record),
    time: record.time,
    idp: 'oidc-provider',
    tenant: strings.issuer,
    client_id: strings.client_id,
    grant_type: strings.grant_type,
    auth_method: method,
    outcome,
    ...(outcome === 'failure' && strings.error !== undefined ? { error_code: strings.error } : {}),
    source_ip: strings.ip,
    ...(strings.user_agent === undefined ? {} : { user_agent: strings.user_agent }),
    scopes: scopesOf(strings.scope) ?? [],
    ...(audience.value === undefined ? {} : { audience: audience.value }),
    ...(assertion.value === undefined ? {} : { assertion: assertion.value }),
    ...(replayReported ? { replay_reported: true } : {}),
  };
  return candidate(event, rawJson(record, RAW_FIELDS), unknownAuthMethod);
}

/** RFC 8707 `resource`: one URI or several (joined with spaces, the way `scope` is). */
function audienceOf(resource: unknown): Parsed<string | undefined> {
  if (resource === undefined || resource === null) return parsed(undefined);
  if (typeof resource === 'string') return parsed(resource === '' ? undefined : resource);
  if (Array.isArray(resource) && resource.every((item) => typeof item === 'string')) {
    return parsed(resource.length === 0 ? undefined : resource.join(' '));
  }
  return deadLetter('resource is neither a string nor an array of strings');
}

/**
 * The client assertion's header and claims the application decoded, picked one by one: a stray
 * `client_assertion` or signature under `assertion` is never copied.
 */
function assertionOf(value: unknown): Parsed<Record<string, unknown> | undefined> {
  if (value === undefined || value === null) return parsed(undefined);
  if (!isObject(value)) return deadLetter('assertion is not an object');
  const source = value;
  const picked: Record<string, unknown> = {};
  for (const key of ASSERTION_STRINGS) {
    const claim = source[key];
    if (claim === undefined || claim === null) continue;
    if (typeof claim !== 'string') return deadLetter(`assertion.${key} is not a string`);
    picked[key] = claim;
  }
  for (const key of ASSERTION_DATES) {
    const claim = source[key];
    if (claim === undefined || claim === null) continue;
    if (typeof claim !== 'number') return deadLetter(`assertion.${key} is not a NumericDate`);
    picked[key] = claim;
  }
  const aud = source.aud;
  if (aud !== undefined && aud !== null) {
    if (typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((item) => typeof item === 'string'))) {
      return deadLetter('assertion.aud is neither a string nor an array of strings');
    }
    picked.aud = aud;
  }
  return parsed(Object.keys(picked).length === 0 ? undefined : picked);
}

