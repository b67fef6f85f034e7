import type { FormatAdapter } from './types.js';
import type { Adapted } from '../results.js';
import { type Json, candidate, clip, isObject, resultsFor, scopesOf, text } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('auth0');

/**
 * Auth0 tenant log events, in the shapes they reach tokenwatch:
 *
 * - a log event as the Management API (`GET /api/v2/logs`) returns it;
 * - a log stream record `{"log_id": "...", "data": {...event}}`; the custom webhook posts them
 *   one by one, as JSON lines or as a JSON array (which the dispatcher splits);
 * - the same record inside an Amazon EventBridge event: `{"detail": {"log_id", "data"}, ...}`.
 *
 * Only client credentials exchanges are token requests of machine clients: `seccft` (success) and
 * `feccft` (failure) (auth0/auth0-log-schemas schemas/log-types/seccft.schema.json, feccft).
 * Every other log type is skipped. Auth0 does not log how the client authenticated, so
 * auth_method is always `unknown` (expected, hence not counted as an unrecognised method).
 *
 * Only the fields mapped below are read: `details` may hold parts of the request (headers, body)
 * and is never copied.
 */

const CLIENT_CREDENTIALS_TYPES: Readonly<Record<string, 'success' | 'failure'>> = {
  seccft: 'success',
  feccft: 'failure',
};

/** A log event: a type code and a log id (`_id` in older API responses). */
function isLogEvent(record: Json): boolean {
  return typeof record.type === 'string' && (typeof record.log_id === 'string' || typeof record._id === 'string');
}

/** A log stream record: the log id beside the event under `data`. */
function isStreamRecord(record: Json): boolean {
  return typeof record.log_id === 'string' && isObject(record.data) && !('type' in record);
}

function isEventBridgeEvent(record: Json): boolean {
  return isObject(record.detail) && isStreamRecord(record.detail);
}

function matches(record: Json): boolean {
  return isLogEvent(record) || isStreamRecord(record) || isEventBridgeEvent(record);
}

function adapt(record: Json): Adapted[] {
  if ('type' in record) return [adaptEvent(record, '', undefined)];
  if ('detail' in record) {
    if (!isObject(record.detail)) return [dlq('detail is not an object')];
    return [adaptStreamRecord(record.detail, 'detail.')];
  }
  if ('data' in record) return [adaptStreamRecord(record, '')];
  return [dlq('neither a log event (type, log_id) nor a log stream record (log_id, data)')];
}

function adaptStreamRecord(record: Json, at: string): Adapted {
  if (!isObject(record.data)) return dlq(`${at}data is missing or not an object`);
  return adaptEvent(record.data, `${at}data.`, text(record.log_id));
}

/** `at` is the path of the event for reasons; `streamLogId` the log id beside it in a stream record. */
function adaptEvent(log: Json, at: string, streamLogId: string | undefined): Adapted {
  const type = log.type;
  if (typeof type !== 'string') return dlq(`${at}type is missing or not a string`);
  const outcome = CLIENT_CREDENTIALS_TYPES[type];
  if (outcome === undefined) return skip(`log type ${type} is not a client credentials exchange`);

  const eventId = text(log.log_id) ?? text(log._id) ?? streamLogId;
  if (eventId === undefined) return dlq(`${at}log_id is missing`);
  if (typeof log.date !== 'string' || log.date === '') return dlq(`${at}date is missing or not a string`);
  const tenant = text(log.tenant_name) ?? text(log.hostname);
  if (tenant === undefined) return dlq(`${at}tenant_name and hostname are missing`);
  // For failure logs Auth0 documents client_id as "a valid ID, an invalid one, or any ID", or null.
  const clientId = text(log.client_id);
  if (clientId === undefined) return dlq(`${at}client_id is missing`);
  const sourceIp = text(log.ip);
  if (sourceIp === undefined) return dlq(`${at}ip is missing`);

  const event: Json = {
    event_id: eventId,
    time: log.date,
    idp: 'auth0',
    tenant,
    client_id: clientId,
    client_name: clip(text(log.client_name), 256),
    grant_type: 'client_credentials',
    auth_method: 'unknown',
    // "Representation of the client certificate used to authenticate the client as per RFC 8705
    // section 3.1", present only when the client authenticated with mTLS.
    credential_id: clip(text(log.mtls_thumbprint_sha256), 256),
    outcome,
    error_code: outcome === 'failure' ? errorCodeOf(log) : undefined,
    source_ip: sourceIp,
    user_agent: clip(text(log.user_agent), 1024),
    // `scope`: an array of scopes or one space-separated string (seccft.schema.json).
    scopes: scopesOf(log.scope) ?? scopesOf(isObject(log.details) ? log.details.scope : undefined) ?? [],
    audience: clip(text(log.audience), 1024),
    geo: geoOf(log.location_info),
  };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return candidate(event, rawJson(log, RAW_FIELDS));
}

/** The failure's description ("Unauthorized", "Client has not been granted scopes: ...") when short, else details.error. */
function errorCodeOf(log: Json): string | undefined {
  const description = text(log.description);
  if (description !== undefined && description.length <= 128) return description;
  const detailsError = isObject(log.details) ? text(log.details.error) : undefined;
  return clip(detailsError ?? description, 128);
}

/** `location_info` (often absent): `country_code` is ISO alpha-2, `city_name` the city. */
function geoOf(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const geo: Json = {};
  const country = text(value.country_code)?.trim().toUpperCase();
  if (country !== undefined && /^[A-Z]{2}$/.test(country)) geo.country = country;
  const city = clip(text(value.city_name), 128);
  if (city !== undefined) geo.city = city;
  return Object.keys(geo).length > 0 ? geo : undefined;
}

/**
 * Kept in `raw` (of the log event, inside a stream record or EventBridge event): the mapped
 * fields plus the failure description, the request's TLS fingerprints and the location.
 * Not kept: `details` beyond its `error` and `scope` (details may hold the request's headers
 * and body, and the issued token's jti), user fields, and anything unlisted.
 */
const RAW_FIELDS = [
  'log_id',
  '_id',
  'date',
  'type',
  'description',
  'connection_id',
  'client_id',
  'client_name',
  'ip',
  'client_ip',
  'user_agent',
  'hostname',
  'tenant_name',
  'environment_name',
  'audience',
  'scope',
  'scope[]',
  'strategy',
  'strategy_type',
  'mtls_thumbprint_sha256',
  'details.error',
  'details.scope',
  'details.scope[]',
  'security_context.ja3',
  'security_context.ja4',
  'location_info.country_code',
  'location_info.country_code3',
  'location_info.country_name',
  'location_info.city_name',
  'location_info.latitude',
  'location_info.longitude',
  'location_info.time_zone',
  'location_info.continent_code',
] as const;

export const auth0Format: FormatAdapter = { name: 'auth0', rawFields: RAW_FIELDS, matches, adapt };
