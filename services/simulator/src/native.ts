import countries from 'i18n-iso-countries';
import english from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { ENTRA_RESOURCES } from './population.js';

/**
 * Renders a simulated canonical event as its IdP writes it, so the ingest path can be fed what
 * it reads in production. Each rendering holds what the vendor's record holds (field paths as in
 * formats/<idp>.ts and test/fixtures/formats/<idp>/) and decodes back, through that adapter, to
 * the same event (test/unit/simulate.test.ts). The tap tenant's events are the tap's own output,
 * canonical JSON with the assertion's claims.
 *
 * - okta: a System Log LogEvent (`app.oauth2.as.token.grant[.access_token]`);
 * - auth0: a tenant log event (`seccft` / `feccft`);
 * - entra: an Azure Monitor ServicePrincipalSignInLogs record;
 * - keycloak: an admin REST EventRepresentation (Keycloak 26, with `id`).
 */

countries.registerLocale(english);

type Json = Record<string, unknown>;

/** Okta writes the country's common English name ("United States"), not the ISO code. */
const OKTA_COUNTRY_NAMES: Readonly<Record<string, string>> = {
  US: 'United States',
  GB: 'United Kingdom',
  RU: 'Russia',
  VN: 'Vietnam',
  NL: 'Netherlands',
};

function countryName(code: string): string {
  return OKTA_COUNTRY_NAMES[code] ?? countries.getName(code, 'en') ?? code;
}

const KEYCLOAK_AUTHENTICATORS: Readonly<Record<string, string>> = {
  client_secret: 'client-secret',
  client_secret_basic: 'client-secret',
  client_secret_post: 'client-secret',
  client_secret_jwt: 'client-secret-jwt',
  private_key_jwt: 'client-jwt',
};

const ENTRA_CREDENTIAL_TYPES: Readonly<Record<string, string>> = {
  client_secret: 'clientSecret',
  private_key_jwt: 'certificate',
};

const ENTRA_FAILURE_REASONS: Readonly<Record<string, string>> = {
  '7000215': 'Invalid client secret is provided.',
  '700027': 'Client assertion failed signature validation.',
  '500011': 'The resource principal was not found in the tenant.',
};

const iso = (time: TokenRequestInput['time']) => new Date(typeof time === 'number' ? time : Date.parse(time)).toISOString();
const millis = (time: TokenRequestInput['time']) => (typeof time === 'number' ? time : Date.parse(time));
const scopeText = (event: TokenRequestInput) => (event.scopes ?? []).join(' ');

/** A request id in the vendor's style, stable for the event. */
const requestId = (event: TokenRequestInput) => Buffer.from(event.event_id).toString('hex').padEnd(32, '0').slice(-32);

export function renderNative(event: TokenRequestInput): Json {
  switch (event.idp) {
    case 'okta':
      return okta(event);
    case 'auth0':
      return auth0(event);
    case 'entra':
      return entra(event);
    case 'keycloak':
      return keycloak(event);
    default:
      return { ...event };
  }
}

function okta(event: TokenRequestInput): Json {
  const success = event.outcome === 'success';
  const geo = event.geo ?? {};
  const place = {
    city: geo.city ?? null,
    state: null,
    country: geo.country === undefined ? null : countryName(geo.country),
    postalCode: null,
    geolocation: null,
  };
  const id = requestId(event);
  return {
    actor: { id: event.client_id, type: 'PublicClientApp', alternateId: event.client_id, displayName: event.client_name ?? 'unknown', detailEntry: null },
    client: {
      userAgent: { rawUserAgent: event.user_agent ?? 'unknown', os: 'Unknown', browser: 'UNKNOWN' },
      zone: 'null',
      device: 'Unknown',
      id: null,
      ipAddress: event.source_ip,
      geographicalContext: place,
    },
    device: null,
    authenticationContext: { authenticationProvider: null, credentialProvider: null, credentialType: null, issuer: null, interface: null, authenticationStep: 0, externalSessionId: 'unknown' },
    displayMessage: success ? 'OIDC access token is granted' : 'OAuth2 token request',
    eventType: success ? 'app.oauth2.as.token.grant.access_token' : 'app.oauth2.as.token.grant',
    outcome: { result: success ? 'SUCCESS' : 'FAILURE', reason: event.error_code ?? null },
    published: iso(event.time),
    securityContext: { asNumber: geo.asn ?? null, asOrg: geo.as_org ?? null, isp: geo.as_org ?? null, domain: null, isProxy: false },
    severity: success ? 'INFO' : 'WARN',
    debugContext: {
      debugData: {
        requestId: id,
        requestUri: `/oauth2/${event.tenant}/v1/token`,
        authorizationServer: event.tenant,
        grantType: event.grant_type,
        clientAuthType: event.auth_method,
        requestedScopes: scopeText(event),
        ...(success ? { grantedScopes: scopeText(event) } : {}),
      },
    },
    legacyEventType: success ? 'app.oauth2.as.token.grant.access_token_success' : 'app.oauth2.as.token.grant_failure',
    transaction: { type: 'WEB', id, detail: {} },
    uuid: event.event_id,
    version: '0',
    request: { ipChain: [{ ip: event.source_ip, geographicalContext: place, version: 'V4', source: null }] },
    target: success ? [{ id: event.tenant, type: 'AuthorizationServer', alternateId: event.tenant, displayName: event.tenant, detailEntry: null }] : [],
  };
}

function auth0(event: TokenRequestInput): Json {
  const success = event.outcome === 'success';
  const geo = event.geo;
  return {
    date: iso(event.time),
    type: success ? 'seccft' : 'feccft',
    description: success ? '' : (event.error_code ?? ''),
    connection_id: '',
    client_id: event.client_id,
    client_name: event.client_name ?? '',
    ip: event.source_ip,
    client_ip: event.source_ip,
    user_agent: event.user_agent ?? '',
    details: success ? {} : { error: event.error_code === 'Unauthorized' ? 'access_denied' : 'invalid_scope' },
    hostname: `${event.tenant}.eu.auth0.com`,
    user_id: '',
    user_name: '',
    audience: event.audience ?? '',
    scope: scopeText(event),
    $event_schema: { version: '1.0.0' },
    tenant_name: event.tenant,
    ...(geo?.country === undefined
      ? {}
      : { location_info: { country_code: geo.country, country_name: countries.getName(geo.country, 'en') ?? geo.country, city_name: geo.city ?? '' } }),
    log_id: event.event_id,
  };
}

function entra(event: TokenRequestInput): Json {
  const success = event.outcome === 'success';
  const code = success ? 0 : Number(event.error_code);
  const created = iso(event.time);
  const resource = event.audience ?? '';
  return {
    time: created,
    resourceId: `/tenants/${event.tenant}/providers/Microsoft.aadiam`,
    operationName: 'Sign-in activity',
    operationVersion: '1.0',
    category: 'ServicePrincipalSignInLogs',
    tenantId: event.tenant,
    resultType: String(code),
    resultSignature: 'None',
    ...(success ? {} : { resultDescription: ENTRA_FAILURE_REASONS[String(code)] ?? 'Other.' }),
    durationMs: 0,
    callerIpAddress: event.source_ip,
    correlationId: requestId(event),
    Level: 4,
    location: event.geo?.country ?? '',
    properties: {
      id: event.event_id,
      createdDateTime: created,
      appId: event.client_id,
      ipAddress: event.source_ip,
      status: success ? { errorCode: 0 } : { errorCode: code, failureReason: ENTRA_FAILURE_REASONS[String(code)] ?? 'Other.' },
      location: { city: event.geo?.city ?? '', countryOrRegion: event.geo?.country ?? '' },
      conditionalAccessStatus: 'notApplied',
      appliedConditionalAccessPolicies: [],
      isInteractive: false,
      tokenIssuerType: 'AzureAD',
      resourceDisplayName: ENTRA_RESOURCES[resource] ?? resource,
      resourceId: resource,
      servicePrincipalName: event.client_name ?? '',
      clientCredentialType: ENTRA_CREDENTIAL_TYPES[event.auth_method] ?? 'none',
      ...(event.credential_id === undefined ? {} : { servicePrincipalCredentialKeyId: event.credential_id }),
      riskDetail: 'none',
      riskState: 'none',
      crossTenantAccessType: 'none',
      incomingTokenType: 'none',
      authenticationProtocol: 'none',
    },
  };
}

function keycloak(event: TokenRequestInput): Json {
  const success = event.outcome === 'success';
  const scope = scopeText(event);
  return {
    id: event.event_id,
    time: millis(event.time),
    type: success ? 'CLIENT_LOGIN' : 'CLIENT_LOGIN_ERROR',
    // Realms created by name keep the name as their id (as `master` does).
    realmId: event.tenant,
    realmName: event.tenant,
    clientId: event.client_id,
    userId: null,
    sessionId: null,
    ipAddress: event.source_ip,
    ...(success ? {} : { error: event.error_code ?? 'invalid_client_credentials' }),
    details: {
      grant_type: event.grant_type,
      client_auth_method: KEYCLOAK_AUTHENTICATORS[event.auth_method] ?? 'client-secret',
      ...(scope === '' ? {} : { scope }),
      ...(success ? { username: `service-account-${event.client_id}` } : {}),
    },
  };
}
