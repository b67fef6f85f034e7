import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import type { Network } from './networks.js';
import type { Client, SimIdp } from './population.js';

/**
 * Builds one canonical event the way its tenant's IdP reports it: only the fields that IdP's log
 * has (and its adapter reads) are set, so a canonical event equals what tokenwatch decodes from
 * the native record native.ts renders (test/unit/simulate.test.ts checks the round trip).
 *
 * - okta: client name, user agent, scopes, country/city/ASN/AS org (client.geographicalContext,
 *   securityContext); no credential id, no audience, no assertion.
 * - auth0: client name, user agent, scopes, audience, country/city (location_info); method unknown.
 * - entra: service principal name, credential key id, resource, country/city; no scopes, no user
 *   agent (left out: not certain the Azure Monitor export carries it).
 * - keycloak: scopes only; no geo, user agent or names.
 * - oidc-provider (the tap): user agent, scopes, audience, the assertion's claims; no geo, no name.
 */

export type FailureKind = 'bad_credential' | 'bad_scope';

export interface AssertionClaims {
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly kid: string;
  readonly alg: string;
}

export interface RequestContext {
  readonly time: number;
  readonly ip: string;
  readonly network: Network;
  readonly userAgent: string;
  readonly credentialId?: string;
  readonly failure?: FailureKind;
  readonly assertion?: AssertionClaims;
  readonly replayReported?: boolean;
  /** The requested scopes, when not the client's own (usage.ts). */
  readonly scopes?: readonly string[];
}

/**
 * What each IdP logs when a client's credential or scope is wrong: the value its adapter puts in
 * error_code. Only Okta's and the tap's match the mint_volume detector's default
 * failure_error_codes (invalid_client, unauthorized_client).
 */
export function errorCode(client: Client, failure: FailureKind): string {
  const idp: SimIdp = client.tenant.idp;
  switch (idp) {
    case 'okta':
    case 'oidc-provider':
      return failure === 'bad_credential' ? 'invalid_client' : 'invalid_scope';
    case 'auth0':
      return failure === 'bad_credential' ? 'Unauthorized' : `Client has not been granted scopes: ${client.scopes[0] ?? 'admin'}:admin`;
    case 'entra':
      // AADSTS7000215 invalid client secret, AADSTS700027 bad certificate assertion, AADSTS500011 unknown resource.
      if (failure === 'bad_scope') return '500011';
      return client.authMethod === 'private_key_jwt' ? '700027' : '7000215';
    case 'keycloak':
      return failure === 'bad_credential' ? 'invalid_client_credentials' : 'invalid_request';
  }
}

type Geo = NonNullable<TokenRequestInput['geo']>;
const geoCache = new Map<string, Geo>();

/** One shared, frozen geo object per network and IdP: millions of events repeat a few dozen. */
function geoFor(idp: SimIdp, network: Network): Geo | undefined {
  if (idp === 'keycloak' || idp === 'oidc-provider') return undefined;
  const key = `${idp}\u0000${network.id}`;
  let geo = geoCache.get(key);
  if (!geo) {
    geo = Object.freeze(
      idp === 'okta'
        ? { country: network.country, city: network.city, asn: network.asn, as_org: network.asOrg }
        : { country: network.country, city: network.city },
    );
    geoCache.set(key, geo);
  }
  return geo;
}

const NO_SCOPES: readonly string[] = Object.freeze([]);

export function buildEvent(client: Client, context: RequestContext): TokenRequestInput {
  const { tenant } = client;
  const idp = tenant.idp;
  const failure = context.failure;
  // Built field by field in one order: key order is the JSON line's, and spreads cost time here.
  const event = {} as TokenRequestInput;
  event.event_id = '';
  event.time = context.time;
  event.idp = idp;
  event.tenant = tenant.tenant;
  event.client_id = client.clientId;
  if (idp === 'okta' || idp === 'auth0' || idp === 'entra') event.client_name = client.name;
  event.grant_type = 'client_credentials';
  // Entra logs a rejected credential as clientCredentialType "none", without its key id.
  const rejected = idp === 'entra' && failure === 'bad_credential';
  event.auth_method = rejected ? 'unknown' : client.authMethod;
  if (idp === 'entra' && !rejected && context.credentialId !== undefined) event.credential_id = context.credentialId;
  event.outcome = failure === undefined ? 'success' : 'failure';
  if (failure !== undefined) event.error_code = errorCode(client, failure);
  event.source_ip = context.ip;
  if (idp === 'okta' || idp === 'auth0' || idp === 'oidc-provider') event.user_agent = context.userAgent;
  event.scopes = idp === 'entra' ? (NO_SCOPES as string[]) : ((context.scopes ?? client.scopes) as string[]);
  if (idp === 'auth0' || idp === 'entra' || idp === 'oidc-provider') event.audience = client.audience;
  if (idp === 'oidc-provider' && context.assertion !== undefined) event.assertion = { ...context.assertion };
  if (context.replayReported) event.replay_reported = true;
  const geo = geoFor(idp, context.network);
  if (geo !== undefined) event.geo = geo;
  return event;
}
