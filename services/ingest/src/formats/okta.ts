import countries from 'i18n-iso-countries';
import english from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import { mapAuthMethod, type FormatAdapter } from './types.js';
import type { Adapted } from '../results.js';
import { candidate, clip, isObject, type Json, OAUTH_AUTH_METHODS, objectAt, resultsFor, scopesOf, text } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('okta');

/**
 * Okta System Log events (LogEvent objects), as the System Log API (`GET /api/v1/logs`, a JSON
 * array the dispatcher splits) and log streaming deliver them one by one, and as Event Hooks
 * deliver them, several to a POST (`data.events` of a `com.okta.event_hook` envelope).
 *
 * Token requests are the `*.token.grant*` events of an authorization server (Okta event types):
 * - success: `app.oauth2.as.token.grant.access_token` (custom authorization server),
 *   `app.oauth2.token.grant.access_token` (org authorization server);
 * - failure: `app.oauth2.as.token.grant`, `app.oauth2.token.grant` (outcome.result FAILURE).
 * Every other event type (sign-ins, admin actions, id/refresh token grants) is skipped.
 *
 * Field paths follow okta/customer-detections logs/log_fields.csv and the System Log API's
 * LogEvent object. Only the fields mapped below are read: debugContext.debugData holds whatever
 * the request carried and is never copied as a whole.
 */

countries.registerLocale(english);

const SUCCESS_TYPES: ReadonlySet<string> = new Set([
  'app.oauth2.as.token.grant.access_token',
  'app.oauth2.token.grant.access_token',
]);
const FAILURE_TYPES: ReadonlySet<string> = new Set(['app.oauth2.as.token.grant', 'app.oauth2.token.grant']);

/** debugData.clientAuthType: the OAuth token_endpoint_auth_method names (log_fields.csv: "none, private_key_jwt"). */
const CLIENT_AUTH_TYPES = OAUTH_AUTH_METHODS;

/**
 * Okta logs the country's English name (log_fields.csv: "United States"). i18n-iso-countries knows
 * the official and most common names; these are common short names it lacks.
 */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  syria: 'SY',
  laos: 'LA',
  moldova: 'MD',
  brunei: 'BN',
  'cabo verde': 'CV',
  'congo republic': 'CG',
  'dr congo': 'CD',
  micronesia: 'FM',
  'u.s. virgin islands': 'VI',
  'british virgin islands': 'VG',
  'vatican city': 'VA',
  åland: 'AX',
  'bonaire, sint eustatius, and saba': 'BQ',
};

/** The eventType of an Event Hook delivery: a POST whose `data.events` holds System Log events. */
const EVENT_HOOK_TYPE = 'com.okta.event_hook';

/** A single LogEvent: its type, its id and its time are what every System Log event has. */
function isLogEvent(record: Json): boolean {
  return typeof record.eventType === 'string' && typeof record.uuid === 'string' && 'published' in record;
}

/**
 * An Event Hook delivery (CloudEvents 0.1 envelope): `{eventType: "com.okta.event_hook",
 * eventId, eventTime, source, data: {events: [LogEvent, ...]}}`, as a relay that forwards
 * Okta's POST bodies to Kafka writes it.
 */
function isEventHook(record: Json): boolean {
  return record.eventType === EVENT_HOOK_TYPE && isObject(record.data) && 'events' in record.data;
}

function matches(record: Json): boolean {
  return isEventHook(record) || isLogEvent(record);
}

function adapt(record: Json): Adapted[] {
  return isEventHook(record) ? adaptEventHook(record) : [adaptEvent(record)];
}

/** Each inner event is decoded like a System Log event: token requests kept, the rest skipped. */
function adaptEventHook(envelope: Json): Adapted[] {
  const events = objectAt(envelope.data).events;
  if (!Array.isArray(events)) return [dlq('event hook data.events is not an array')];
  if (events.length === 0) return [skip('event hook delivery holds no events')];
  return events.map((event: unknown, i) => (isObject(event) ? adaptEvent(event) : dlq(`event hook data.events[${i}] is not an object`)));
}

function adaptEvent(record: Json): Adapted {
  const eventType = record.eventType;
  if (typeof eventType !== 'string') return dlq('eventType is missing or not a string');
  const success = SUCCESS_TYPES.has(eventType);
  if (!success && !FAILURE_TYPES.has(eventType)) return skip(`event type ${eventType} is not a client token request`);

  const eventId = text(record.uuid);
  if (eventId === undefined) return dlq('uuid is missing');
  if (typeof record.published !== 'string' || record.published === '') return dlq('published is missing or not a string');

  const actor = objectAt(record.actor);
  const client = objectAt(record.client);
  const debugData = objectAt(objectAt(record.debugContext).debugData);

  // The client is the actor of a client credentials grant (actor.type PublicClientApp);
  // client.id is "for OAuth requests, the ID of the OAuth client making the request".
  const actorIsClient = actor.type === 'PublicClientApp';
  const clientId = (actorIsClient ? text(actor.id) : undefined) ?? text(client.id);
  if (clientId === undefined) return dlq('actor.id (actor.type PublicClientApp) and client.id are missing');

  const grantType = text(debugData.grantType);
  if (grantType === undefined) return dlq('debugContext.debugData.grantType is missing');

  const outcome = outcomeOf(record.outcome, success);
  if (outcome === undefined) return dlq('outcome.result is not a string');

  const sourceIp = text(client.ipAddress) ?? firstChainIp(objectAt(record.request).ipChain);
  if (sourceIp === undefined) return dlq('client.ipAddress and request.ipChain[0].ip are missing');

  const auth = mapAuthMethod(debugData.clientAuthType, CLIENT_AUTH_TYPES);
  const event: Json = {
    event_id: eventId,
    time: record.published,
    idp: 'okta',
    // No event field names the org; the custom authorization server's id is the nearest tenant.
    tenant: text(debugData.authorizationServer) ?? 'default',
    client_id: clientId,
    client_name: actorIsClient ? clip(text(actor.displayName) ?? knownAlternateId(actor.alternateId), 256) : undefined,
    grant_type: grantType,
    auth_method: auth.method,
    outcome: outcome.success ? 'success' : 'failure',
    error_code: outcome.success ? undefined : clip(text(objectAt(record.outcome).reason), 128),
    source_ip: sourceIp,
    user_agent: clip(text(objectAt(client.userAgent).rawUserAgent), 1024),
    // One string, space- or comma-separated ("offline_access, profile, openid").
    scopes: scopesOf(debugData.grantedScopes, { commas: true }) ?? scopesOf(debugData.requestedScopes, { commas: true }) ?? [],
    geo: geoOf(client, record.securityContext),
  };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return candidate(event, rawJson(record, RAW_FIELDS), auth.unknownAuthMethod);
}

/**
 * outcome.result is SUCCESS, FAILURE, SKIPPED, UNKNOWN (or CHALLENGE); only SUCCESS is a success.
 * Without an outcome the event type decides: `...access_token` is the granted token, the bare
 * `...token.grant` the failure.
 */
function outcomeOf(value: unknown, successType: boolean): { success: boolean } | undefined {
  const result = isObject(value) ? value.result : undefined;
  if (result === undefined || result === null) return { success: successType };
  if (typeof result !== 'string') return undefined;
  return { success: result.toUpperCase() === 'SUCCESS' };
}

/** Okta writes "unknown" when an actor has no alternate id. */
function knownAlternateId(value: unknown): string | undefined {
  const id = text(value);
  return id === undefined || id.toLowerCase() === 'unknown' ? undefined : id;
}

function firstChainIp(chain: unknown): string | undefined {
  if (!Array.isArray(chain)) return undefined;
  const first: unknown = chain[0];
  return isObject(first) ? text(first.ip) : undefined;
}

function geoOf(client: Json, securityContext: unknown): Json | undefined {
  const location = objectAt(client.geographicalContext);
  const security = objectAt(securityContext);
  const geo: Json = {};
  const country = countryCode(location.country);
  if (country !== undefined) geo.country = country;
  const city = clip(text(location.city), 128);
  if (city !== undefined) geo.city = city;
  const asn = security.asNumber;
  const asNumber = typeof asn === 'number' ? asn : typeof asn === 'string' && /^\d+$/.test(asn) ? Number(asn) : undefined;
  // ASN 0 is reserved (RFC 7607): no ASN.
  if (asNumber !== undefined && Number.isSafeInteger(asNumber) && asNumber > 0) geo.asn = asNumber;
  const asOrg = clip(text(security.asOrg), 256);
  if (asOrg !== undefined) geo.as_org = asOrg;
  return Object.keys(geo).length > 0 ? geo : undefined;
}

const countryCache = new Map<string, string | undefined>();

/** An ISO 3166 alpha-2 code for Okta's country name, or nothing when the name is not one. */
function countryCode(value: unknown): string | undefined {
  const name = text(value)?.trim();
  if (name === undefined) return undefined;
  if (countryCache.has(name)) return countryCache.get(name);
  const code =
    (/^[A-Z]{2}$/.test(name) && countries.isValid(name) ? name : undefined) ??
    countries.getAlpha2Code(name, 'en') ??
    countries.getSimpleAlpha2Code(name, 'en') ??
    COUNTRY_ALIASES[name.toLowerCase()];
  // Names are few; the bound only guards against a feed of made-up ones.
  if (countryCache.size < 1024) countryCache.set(name, code);
  return code;
}

/**
 * Kept in `raw`: the mapped fields plus the context an investigator reads (outcome reason,
 * display message, the client's geo and network context, the IP chain, the request and trace
 * ids). Not kept: the rest of debugContext.debugData (it holds whatever the request carried),
 * `target` (the issued token's id), authenticationContext and anything unlisted.
 */
const RAW_FIELDS = [
  'uuid',
  'published',
  'eventType',
  'legacyEventType',
  'displayMessage',
  'severity',
  'version',
  'outcome.result',
  'outcome.reason',
  'actor.id',
  'actor.type',
  'actor.alternateId',
  'actor.displayName',
  'client.id',
  'client.ipAddress',
  'client.device',
  'client.zone',
  'client.userAgent.rawUserAgent',
  'client.userAgent.os',
  'client.userAgent.browser',
  'client.geographicalContext.city',
  'client.geographicalContext.state',
  'client.geographicalContext.country',
  'client.geographicalContext.postalCode',
  'client.geographicalContext.geolocation.lat',
  'client.geographicalContext.geolocation.lon',
  'securityContext.asNumber',
  'securityContext.asOrg',
  'securityContext.isp',
  'securityContext.domain',
  'securityContext.isProxy',
  'request.ipChain[].ip',
  'request.ipChain[].version',
  'request.ipChain[].geographicalContext.city',
  'request.ipChain[].geographicalContext.state',
  'request.ipChain[].geographicalContext.country',
  'transaction.type',
  'transaction.id',
  'debugContext.debugData.requestId',
  'debugContext.debugData.requestUri',
  'debugContext.debugData.traceId',
  'debugContext.debugData.authorizationServer',
  'debugContext.debugData.authorizationServerName',
  'debugContext.debugData.grantType',
  'debugContext.debugData.clientAuthType',
  'debugContext.debugData.requestedScopes',
  'debugContext.debugData.grantedScopes',
  'debugContext.debugData.responseTime',
  'debugContext.debugData.threatSuspected',
] as const;

export const oktaFormat: FormatAdapter = { name: 'okta', rawFields: RAW_FIELDS, matches, adapt };
