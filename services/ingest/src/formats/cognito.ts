import type { FormatAdapter } from './types.js';
import type { Adapted } from '../results.js';
import { type Json, candidate, isObject, resultsFor, scopesOf, text } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('cognito');

/**
 * Amazon Cognito user pool token endpoint requests, as CloudTrail records them (one event, or a
 * CloudTrail log file `{"Records": [...]}`). A request to `/oauth2/token` is the event
 * `eventName: "Token_POST"` from `cognito-idp.amazonaws.com`, with the form parameters under
 * `additionalEventData.requestParameters`, each as an array of one string
 * (`"grant_type": ["client_credentials"], "client_id": ["1example23456789"]`), plus
 * `userPoolDomain` and `userPoolId` ("Example Amazon Cognito events", Amazon Cognito Developer
 * Guide). Only `client_credentials` requests are machine token requests; other grants and other
 * events are skipped.
 *
 * CloudTrail does not log how the client authenticated, so `auth_method` is `unknown` (not
 * counted as an unrecognised value). Only the mapped parameters are read: `client_secret`,
 * `client_assertion` and anything else in `requestParameters` never reach the event.
 */

const COGNITO_SOURCE = 'cognito-idp.amazonaws.com';

/**
 * Any CloudTrail event (`eventSource` is a service endpoint such as `s3.amazonaws.com`): Cognito is
 * the only AWS source here, so others are claimed and skipped. S3 event notifications, which also
 * come as `{"Records": [...]}`, have `eventSource: "aws:s3"` and are not claimed.
 */
function isCloudTrailEvent(record: Json): boolean {
  return (
    typeof record.eventSource === 'string' &&
    record.eventSource.endsWith('.amazonaws.com') &&
    typeof record.eventName === 'string' &&
    'eventTime' in record
  );
}

function matches(record: Json): boolean {
  if (isCloudTrailEvent(record)) return true;
  return Array.isArray(record.Records) && record.Records.some((item) => isObject(item) && isCloudTrailEvent(item));
}

function adapt(record: Json): Adapted[] {
  if ('Records' in record && !('eventName' in record)) {
    const items = record.Records;
    if (!Array.isArray(items)) return [dlq('Records is not an array')];
    // Every message gets a result, so an empty log file is counted (skipped), not silently gone.
    if (items.length === 0) return [skip('CloudTrail log file holds no Records')];
    return items.map((item, index) =>
      isObject(item) ? adaptEvent(item, `Records[${index}]: `) : dlq(`Records[${index}] is not an object`),
    );
  }
  return [adaptEvent(record, '')];
}

/** A form parameter: CloudTrail writes `["value"]`; a bare string is accepted too. */
function parameter(value: unknown): { value: string } | { missing: true } | { invalid: true } {
  if (value === undefined || value === null) return { missing: true };
  const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  const found = text(single);
  return found === undefined ? { invalid: true } : { value: found };
}

function adaptEvent(record: Json, where: string): Adapted {
  if (typeof record.eventSource !== 'string' || typeof record.eventName !== 'string') {
    return dlq(`${where}eventSource or eventName missing: not a CloudTrail event`);
  }
  if (record.eventSource !== COGNITO_SOURCE) return skip(`${where}eventSource ${record.eventSource} is not ${COGNITO_SOURCE}`);
  if (record.eventName !== 'Token_POST') return skip(`${where}eventName ${record.eventName} is not Token_POST`);

  const data = record.additionalEventData;
  if (!isObject(data)) return dlq(`${where}additionalEventData is missing or not an object`);
  const request = data.requestParameters;
  if (!isObject(request)) return dlq(`${where}additionalEventData.requestParameters is missing or not an object`);

  const grant = parameter(request.grant_type);
  if ('missing' in grant) return skip(`${where}Token_POST without additionalEventData.requestParameters.grant_type`);
  if ('invalid' in grant) {
    return dlq(`${where}additionalEventData.requestParameters.grant_type is not a string or an array of one string`);
  }
  if (grant.value !== 'client_credentials') return skip(`${where}grant_type ${grant.value} is not client_credentials`);

  const eventId = text(record.eventID);
  if (eventId === undefined) return dlq(`${where}eventID is missing`);
  const time = text(record.eventTime);
  if (time === undefined) return dlq(`${where}eventTime is missing`);
  const tenant = text(data.userPoolId) ?? text(data.userPoolDomain) ?? text(record.recipientAccountId);
  if (tenant === undefined) {
    return dlq(`${where}additionalEventData.userPoolId, additionalEventData.userPoolDomain and recipientAccountId are missing`);
  }
  const client = parameter(request.client_id);
  if (!('value' in client)) {
    return dlq(
      `${where}additionalEventData.requestParameters.client_id is ${'missing' in client ? 'missing' : 'not a string or an array of one string'}`,
    );
  }
  const sourceIp = text(record.sourceIPAddress);
  if (sourceIp === undefined) return dlq(`${where}sourceIPAddress is missing`);

  // CloudTrail sets errorCode on a failed request (AWS's own examples carry errorCode: "" on
  // success). Failed token requests are not among AWS's examples, so an HTTP error status in
  // additionalEventData.responseParameters.status counts as a failure as well.
  const errorCode = text(record.errorCode);
  const response = data.responseParameters;
  const status = isObject(response) ? response.status : undefined;
  const httpError = typeof status === 'number' && Number.isFinite(status) && status >= 400 ? String(status) : undefined;
  const failureCode = errorCode ?? httpError;

  const event: Json = {
    event_id: eventId,
    time,
    idp: 'cognito',
    tenant,
    client_id: client.value,
    grant_type: grant.value,
    auth_method: 'unknown',
    outcome: failureCode === undefined ? 'success' : 'failure',
    error_code: failureCode,
    source_ip: sourceIp,
    user_agent: text(record.userAgent),
    // A space-separated list (RFC 6749 §3.3), in CloudTrail's array of one string.
    scopes: scopesOf(request.scope),
  };
  for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
  return candidate(event, rawJson(record, RAW_FIELDS));
}

/**
 * Kept in `raw` (of the CloudTrail event, inside a log file envelope): the event's identity,
 * origin and outcome, the user pool, the response status, and of the form parameters only
 * grant_type, client_id and scope. Not kept: every other request parameter (client_secret,
 * client_assertion, ...), request headers, and anything unlisted.
 */
const RAW_FIELDS = [
  'eventVersion',
  'eventID',
  'eventTime',
  'eventSource',
  'eventName',
  'eventType',
  'eventCategory',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestID',
  'readOnly',
  'managementEvent',
  'recipientAccountId',
  'userIdentity.type',
  'userIdentity.accountId',
  'tlsDetails.tlsVersion',
  'tlsDetails.cipherSuite',
  'additionalEventData.userPoolId',
  'additionalEventData.userPoolDomain',
  'additionalEventData.responseParameters.status',
  'additionalEventData.requestParameters.grant_type',
  'additionalEventData.requestParameters.grant_type[]',
  'additionalEventData.requestParameters.client_id',
  'additionalEventData.requestParameters.client_id[]',
  'additionalEventData.requestParameters.scope',
  'additionalEventData.requestParameters.scope[]',
] as const;

export const cognitoFormat: FormatAdapter = { name: 'cognito', rawFields: RAW_FIELDS, matches, adapt };
