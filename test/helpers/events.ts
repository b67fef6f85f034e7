import type { TokenRequest, TokenRequestInput } from '@tokenwatch/shared/events/token-request';

const BASE_TIME = Date.UTC(2026, 10, 27, 12, 0, 0);

/** The smallest valid canonical event: every required field, nothing optional. */
export const MINIMAL_EVENT = {
  event_id: 'evt-min',
  time: '2026-11-27T12:00:00Z',
  idp: 'okta',
  tenant: 'acme',
  client_id: 'svc-orders',
  grant_type: 'client_credentials',
  auth_method: 'private_key_jwt',
  outcome: 'success',
  source_ip: '198.51.100.7',
} as const;

/** MINIMAL_EVENT as the schema outputs it (time in epoch ms, with a millisecond part; no scopes). */
export const MINIMAL_VALIDATED_EVENT: TokenRequest = {
  ...MINIMAL_EVENT,
  time: Date.UTC(2026, 10, 27, 12, 0, 0, 7),
  scopes: [],
};

/**
 * One successful request authenticated with a client assertion (private_key_jwt, 120 s
 * lifetime) from an AWS address: what the jti_replay and inventory tests store, varied by `extra`.
 */
export function assertionRequest(id: string, client: string, jti: string, timeMs: number, extra: Partial<TokenRequestInput> = {}): TokenRequestInput {
  const iat = Math.floor(timeMs / 1000);
  return {
    event_id: id,
    time: timeMs,
    idp: 'oidc-provider',
    tenant: 'acme',
    client_id: client,
    client_name: `${client} service`,
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: 'success',
    source_ip: '3.208.10.4',
    assertion: { jti, iat, exp: iat + 120, kid: 'k1', alg: 'RS256', iss: client, sub: client },
    geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' },
    ...extra,
  };
}

/** A valid canonical event, deterministic in `i`, varied enough to exercise every column. */
export function canonicalEvent(i: number, overrides: Partial<TokenRequestInput> = {}): TokenRequestInput {
  const usesAssertion = i % 3 !== 0;
  return {
    event_id: `evt-${i}`,
    time: i % 2 === 0 ? new Date(BASE_TIME + i * 10).toISOString() : BASE_TIME + i * 10,
    idp: (['okta', 'auth0', 'entra', 'keycloak', 'generic'] as const)[i % 5] ?? 'generic',
    tenant: `tenant-${i % 3}`,
    client_id: `client-${i % 50}`,
    client_name: `service ${i % 50}`,
    grant_type: 'client_credentials',
    auth_method: usesAssertion ? 'private_key_jwt' : 'client_secret_basic',
    outcome: i % 17 === 0 ? 'failure' : 'success',
    ...(i % 17 === 0 ? { error_code: 'invalid_client' } : {}),
    source_ip: i % 4 === 0 ? `2001:db8::${(i % 65_535).toString(16)}` : `198.51.100.${i % 250}`,
    user_agent: 'okhttp/4.12.0',
    scopes: ['orders.read', 'orders.write'].slice(0, 1 + (i % 2)),
    ...(usesAssertion
      ? { assertion: { jti: `jti-${i}`, iat: 1_764_244_800 + i, exp: 1_764_245_100 + i, kid: 'key-1', alg: 'RS256' } }
      : {}),
    geo: { country: 'DE', asn: 3320, as_org: 'Deutsche Telekom AG' },
    ...overrides,
  };
}

/** Malformed messages of every kind the worker must dead-letter, each with the reason it should give. */
export function malformedMessage(i: number): { value: string; reasonIncludes: string } {
  switch (i % 4) {
    case 0:
      return { value: `{"event_id": "broken-${i}", "client_id": `, reasonIncludes: 'not JSON' };
    case 1: {
      const { client_id: _dropped, ...rest } = canonicalEvent(1_000_000 + i);
      return { value: JSON.stringify(rest), reasonIncludes: 'client_id' };
    }
    case 2:
      return { value: JSON.stringify(canonicalEvent(1_000_000 + i, { source_ip: '999.1.1.1' })), reasonIncludes: 'source_ip' };
    default:
      return {
        value: JSON.stringify({ ...canonicalEvent(1_000_000 + i), outcome: 1, scopes: 'read' }),
        reasonIncludes: 'outcome',
      };
  }
}

/** Builds one test's token requests: see `requestBuilder`. */
export type RequestBuilder = (client: string, time: number, ...parts: Partial<TokenRequestInput>[]) => TokenRequestInput;

/**
 * The detector tests' event builder: a successful client_credentials request of tenant `acme`
 * through Okta with a client secret (client_secret_basic) from an AWS address (3.208.10.4, no
 * geo), numbered `${prefix}-1`, `${prefix}-2`, ... in the order built. `defaults` are what the test's requests share (where they come from,
 * their IdP, user agent); each call's `parts` (where, then what else differs) override them in
 * order.
 */
export function requestBuilder(prefix: string, defaults: Partial<TokenRequestInput> = {}): RequestBuilder {
  let built = 0;
  return (client, time, ...parts) => {
    built += 1;
    const request: TokenRequestInput = {
      event_id: `${prefix}-${built}`,
      time,
      idp: 'okta',
      tenant: 'acme',
      client_id: client,
      grant_type: 'client_credentials',
      auth_method: 'client_secret_basic',
      outcome: 'success',
      source_ip: '3.208.10.4',
      ...defaults,
    };
    for (const part of parts) Object.assign(request, part);
    return request;
  };
}

/**
 * The window tests' numbered request (detector windows, fresh look, rollups behind): request `i`
 * is made `i` seconds after `t0` by client svc-(i mod 5), signed with a client assertion of its own
 * jti (`jti-i`), numbered `${prefix}-i`. A test makes a replay by giving two requests one jti.
 */
export function numberedAssertionRequest(
  prefix: string,
  t0: number,
  i: number,
  { client = `svc-${i % 5}`, jti = `jti-${i}`, id = `${prefix}-${i}` }: { client?: string; jti?: string; id?: string } = {},
): TokenRequestInput {
  const iat = Math.floor((t0 + i * 1000) / 1000);
  return {
    event_id: id,
    time: t0 + i * 1000,
    idp: 'oidc-provider',
    tenant: 'acme',
    client_id: client,
    client_name: client,
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: 'success',
    source_ip: '3.208.10.4',
    assertion: { jti, iat, exp: iat + 3_600, kid: 'k1', alg: 'RS256' },
  };
}
