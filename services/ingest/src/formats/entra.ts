import type { AuthMethod } from '@tokenwatch/shared/events/token-request';
import { mapAuthMethod, type FormatAdapter } from './types.js';
import type { Adapted } from '../results.js';
import { type Json, candidate, isObject, resultsFor, text } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('entra');

/**
 * Microsoft Entra ID sign-in logs of workload identities, in the two shapes they are exported:
 *
 * - Azure Monitor diagnostic records (Event Hubs, storage account, `{"records": [...]}` envelope):
 *   `time`, `category`, `tenantId`, `resultType`, `callerIpAddress` at the top, the sign-in itself
 *   under `properties`. Only the categories `ServicePrincipalSignInLogs` and
 *   `ManagedIdentitySignInLogs` are client token requests; user sign-ins and audit logs are skipped.
 * - Microsoft Graph `signIn` resources (beta; `GET /auditLogs/signIns`, alone or as a
 *   `{"value": [...]}` list response): the same properties without the `properties.` level. Only
 *   those whose `signInEventTypes` include `servicePrincipal` or `managedIdentity` are taken; v1.0
 *   has no `signInEventTypes` and lists user sign-ins only.
 *
 * Entra does not log the grant: a service principal or managed identity sign-in is an app-only
 * token request, i.e. client credentials.
 */

const SERVICE_PRINCIPAL_CATEGORY = 'ServicePrincipalSignInLogs';
const MANAGED_IDENTITY_CATEGORY = 'ManagedIdentitySignInLogs';

/**
 * Graph `clientCredentialType` (keys lower-cased; mapAuthMethod falls back to the lower-cased value).
 * - `certificate` -> private_key_jwt: Entra's certificate credential is "a JSON Web Token (JWT)
 *   assertion signed with a certificate that the application owns. This is described in the OpenID
 *   Connect specification for the private_key_jwt client authentication option" (Microsoft identity
 *   platform, "certificate credentials"). Entra app registrations have no mTLS client auth, so
 *   tls_client_auth would be wrong.
 * - `clientAssertion` -> private_key_jwt: a signed client assertion (RFC 7523); Entra has no
 *   client_secret_jwt.
 * - `none` is handled before this table: it appears on failed sign-ins whose credential was rejected
 *   (e.g. AADSTS7000215, invalid secret), so it does not mean a public client.
 */
const CREDENTIAL_TYPES: Readonly<Record<string, AuthMethod>> = {
  clientsecret: 'client_secret',
  clientassertion: 'private_key_jwt',
  certificate: 'private_key_jwt',
  federatedidentitycredential: 'federated',
  managedidentity: 'managed_identity',
};

function isAzureMonitorRecord(record: Json): boolean {
  if (typeof record.category !== 'string' || !('properties' in record)) return false;
  return record.category.endsWith('SignInLogs') || /\/providers\/microsoft\.aadiam/i.test(String(record.resourceId));
}

function isGraphSignIn(record: Json): boolean {
  return typeof record.createdDateTime === 'string' && 'appId' in record && !('properties' in record);
}

function matches(record: Json): boolean {
  if (isAzureMonitorRecord(record) || isGraphSignIn(record)) return true;
  if (Array.isArray(record.records)) return record.records.some((item) => isObject(item) && isAzureMonitorRecord(item));
  if (Array.isArray(record.value)) return record.value.some((item) => isObject(item) && isGraphSignIn(item));
  return false;
}

function adapt(record: Json): Adapted[] {
  if ('records' in record && !('category' in record)) return adaptBatch(record.records, 'records');
  if ('value' in record && !('createdDateTime' in record) && !('category' in record)) return adaptBatch(record.value, 'value');
  return [adaptRecord(record, '')];
}

function adaptBatch(items: unknown, name: string): Adapted[] {
  if (!Array.isArray(items)) return [dlq(`${name} is not an array`)];
  // Every message gets a result, so an empty batch is counted (skipped), not silently gone.
  if (items.length === 0) return [skip(`${name} holds no records`)];
  return items.map((item, index) =>
    isObject(item) ? adaptRecord(item, `${name}[${index}]: `) : dlq(`${name}[${index}] is not an object`),
  );
}

/** Where the sign-in's fields are and what the envelope around it says. */
interface SignIn {
  /** The whole record (Azure Monitor record or Graph signIn), kept in part in `raw`. */
  readonly record: Json;
  readonly signIn: Json;
  /** Path of `signIn` for reasons: `properties.` or nothing. */
  readonly at: string;
  readonly managedIdentity: boolean;
  readonly time: unknown;
  readonly timePath: string;
  readonly tenant: string | undefined;
  readonly tenantPath: string;
  /** Azure Monitor's `resultType` (absent in Graph). */
  readonly resultType: unknown;
  /** Azure Monitor's `callerIpAddress` (absent in Graph). */
  readonly callerIp: string | undefined;
}

function adaptRecord(record: Json, where: string): Adapted {
  if ('category' in record) return fromAzureMonitor(record, where);
  if ('createdDateTime' in record || 'signInEventTypes' in record) return fromGraph(record, where);
  return dlq(
    `${where}neither an Azure Monitor sign-in record (category, properties) nor a Graph signIn (createdDateTime, appId)`,
  );
}

function fromAzureMonitor(record: Json, where: string): Adapted {
  const category = record.category;
  if (typeof category !== 'string') return dlq(`${where}category is not a string`);
  if (category !== SERVICE_PRINCIPAL_CATEGORY && category !== MANAGED_IDENTITY_CATEGORY) {
    return skip(`${where}category ${category} is not a service principal or managed identity sign-in`);
  }
  const properties = record.properties;
  if (!isObject(properties)) return dlq(`${where}properties is missing or not an object`);
  return toEvent(
    {
      record,
      signIn: properties,
      at: 'properties.',
      managedIdentity: category === MANAGED_IDENTITY_CATEGORY,
      time: text(record.time) ?? properties.createdDateTime,
      timePath: 'time (or properties.createdDateTime)',
      tenant: text(record.tenantId) ?? text(properties.tenantId) ?? text(properties.resourceTenantId),
      tenantPath: 'tenantId',
      resultType: record.resultType,
      callerIp: text(record.callerIpAddress),
    },
    where,
  );
}

function fromGraph(record: Json, where: string): Adapted {
  const types = record.signInEventTypes;
  if (types === undefined || types === null) {
    return skip(`${where}Graph signIn without signInEventTypes (v1.0 lists user sign-ins only)`);
  }
  if (!Array.isArray(types) || !types.every((type) => typeof type === 'string')) {
    return dlq(`${where}signInEventTypes is not an array of strings`);
  }
  const managedIdentity = types.includes('managedIdentity');
  if (!managedIdentity && !types.includes('servicePrincipal')) {
    return skip(`${where}Graph signIn of type ${types.join(',') || '(none)'} is not a service principal or managed identity sign-in`);
  }
  return toEvent(
    {
      record,
      signIn: record,
      at: '',
      managedIdentity,
      time: record.createdDateTime,
      timePath: 'createdDateTime',
      // Graph has no tenantId; homeTenantId is documented as not applicable to workload identities.
      tenant: text(record.resourceTenantId) ?? text(record.homeTenantId) ?? 'default',
      tenantPath: 'resourceTenantId',
      resultType: undefined,
      callerIp: undefined,
    },
    where,
  );
}

function toEvent(source: SignIn, where: string): Adapted {
  const { signIn, at } = source;

  const eventId = text(signIn.id);
  if (eventId === undefined) return dlq(`${where}${at}id is missing`);
  if (typeof source.time !== 'string' || source.time === '') return dlq(`${where}${source.timePath} is missing`);
  if (source.tenant === undefined) return dlq(`${where}${source.tenantPath} is missing`);
  const clientId = text(signIn.appId);
  if (clientId === undefined) return dlq(`${where}${at}appId is missing`);

  const outcome = outcomeOf(signIn, source.resultType, at !== '');
  if ('reason' in outcome) return dlq(`${where}${outcome.reason.replaceAll('{at}', at)}`);

  const sourceIp = text(signIn.ipAddress) ?? source.callerIp;
  if (sourceIp === undefined) {
    // Managed identities get tokens from the Azure-internal IMDS endpoint, and their sign-ins are
    // logged with ipAddress "". There is no client address to record, and none may be made up.
    if (source.managedIdentity) return skip(`${where}managed identity sign-in without an IP address (${at}ipAddress is empty)`);
    return dlq(`${where}${at}ipAddress ${at === '' ? 'is' : 'and callerIpAddress are'} missing`);
  }

  const auth = authMethodOf(signIn.clientCredentialType, source.managedIdentity);
  const event: Json = {
    event_id: eventId,
    time: source.time,
    idp: 'entra',
    tenant: source.tenant,
    client_id: clientId,
    client_name: text(signIn.servicePrincipalName) ?? text(signIn.appDisplayName),
    grant_type: 'client_credentials',
    auth_method: auth.method,
    credential_id:
      text(signIn.servicePrincipalCredentialKeyId) ??
      text(signIn.servicePrincipalCredentialThumbprint) ??
      text(signIn.federatedCredentialId),
    outcome: outcome.success ? 'success' : 'failure',
    error_code: outcome.success ? undefined : outcome.code,
    source_ip: sourceIp,
    user_agent: text(signIn.userAgent),
    audience: text(signIn.resourceId) ?? text(signIn.resourceDisplayName),
    geo: geoOf(signIn),
  };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return candidate(event, rawJson(source.record, RAW_FIELDS), auth.unknownAuthMethod);
}

/**
 * `properties.status.errorCode` (an Int32 in Graph's signInStatus) is the sign-in's own result;
 * Azure Monitor repeats it as the string `resultType`. 0 is success, anything else an AADSTS code.
 */
function outcomeOf(
  signIn: Json,
  resultType: unknown,
  azureMonitor: boolean,
): { success: true } | { success: false; code: string } | { reason: string } {
  const status = signIn.status;
  const errorCode = isObject(status) ? status.errorCode : undefined;
  let code: string | undefined;
  if (typeof errorCode === 'number' && Number.isInteger(errorCode)) code = String(errorCode);
  else if (text(errorCode) !== undefined) code = (errorCode as string).trim();
  else if (typeof resultType === 'number' && Number.isInteger(resultType)) code = String(resultType);
  else if (text(resultType) !== undefined) code = (resultType as string).trim();
  if (code === undefined) {
    return errorCode !== undefined && errorCode !== null
      ? { reason: '{at}status.errorCode is not an integer' }
      : { reason: `{at}status.errorCode ${azureMonitor ? 'and resultType are' : 'is'} missing` };
  }
  return code === '0' ? { success: true } : { success: false, code };
}

function authMethodOf(value: unknown, managedIdentity: boolean): { method: AuthMethod; unknownAuthMethod?: string } {
  const absent = value === undefined || value === null || (typeof value === 'string' && (value.trim() === '' || value === 'none'));
  if (absent) return { method: managedIdentity ? 'managed_identity' : 'unknown' };
  return mapAuthMethod(value, CREDENTIAL_TYPES);
}

function geoOf(signIn: Json): Json | undefined {
  const location = isObject(signIn.location) ? signIn.location : {};
  const geo: Json = {};
  // signInLocation.countryOrRegion is a two-letter code; anything else is left out rather than
  // letting an odd value fail the whole event.
  const country = text(location.countryOrRegion);
  if (country !== undefined && /^[A-Z]{2}$/.test(country)) geo.country = country;
  const city = text(location.city);
  if (city !== undefined) geo.city = city;
  const asn = signIn.autonomousSystemNumber;
  const asNumber = typeof asn === 'number' ? asn : typeof asn === 'string' && /^\d+$/.test(asn) ? Number(asn) : undefined;
  // ASN 0 is reserved (RFC 7607): Entra's "no ASN".
  if (asNumber !== undefined && Number.isSafeInteger(asNumber) && asNumber > 0) geo.asn = asNumber;
  return Object.keys(geo).length > 0 ? geo : undefined;
}

/**
 * The sign-in fields kept in `raw`: the mapped ones plus status, risk, conditional access and
 * network context. Not kept: authenticationProcessingDetails (free-form key/value pairs),
 * uniqueTokenIdentifier (the issued token's id), request headers, and anything unlisted.
 */
const SIGN_IN_RAW_FIELDS = [
  'id',
  'createdDateTime',
  'appId',
  'appDisplayName',
  'servicePrincipalId',
  'servicePrincipalName',
  'clientCredentialType',
  'servicePrincipalCredentialKeyId',
  'servicePrincipalCredentialThumbprint',
  'federatedCredentialId',
  'managedIdentityType',
  'ipAddress',
  'userAgent',
  'correlationId',
  'resourceId',
  'resourceDisplayName',
  'resourceServicePrincipalId',
  'resourceTenantId',
  'homeTenantId',
  'signInEventTypes[]',
  'status.errorCode',
  'status.failureReason',
  'conditionalAccessStatus',
  'appliedConditionalAccessPolicies[].id',
  'appliedConditionalAccessPolicies[].displayName',
  'appliedConditionalAccessPolicies[].result',
  'isInteractive',
  'tokenIssuerType',
  'riskDetail',
  'riskLevelAggregated',
  'riskLevelDuringSignIn',
  'riskState',
  'crossTenantAccessType',
  'isTenantRestricted',
  'flaggedForReview',
  'incomingTokenType',
  'authenticationProtocol',
  'autonomousSystemNumber',
  'ipAddressFromResourceProvider',
  'location.city',
  'location.state',
  'location.countryOrRegion',
  'location.geoCoordinates.latitude',
  'location.geoCoordinates.longitude',
  'networkLocationDetails[].networkType',
  'networkLocationDetails[].networkNames[]',
] as const;

/** Azure Monitor's envelope fields, then the sign-in under `properties.`; a Graph signIn is the sign-in itself. */
const RAW_FIELDS = [
  'time',
  'resourceId',
  'operationName',
  'operationVersion',
  'category',
  'tenantId',
  'resultType',
  'resultSignature',
  'resultDescription',
  'durationMs',
  'callerIpAddress',
  'correlationId',
  'Level',
  'location',
  ...SIGN_IN_RAW_FIELDS.map((field) => `properties.${field}`),
  ...SIGN_IN_RAW_FIELDS,
];

export const entraFormat: FormatAdapter = { name: 'entra', rawFields: RAW_FIELDS, matches, adapt };
