import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cognitoFormat } from '@tokenwatch/ingest/formats/cognito';
import { entraFormat } from '@tokenwatch/ingest/formats/entra';
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { adapterHelpers, eventOf, validated } from '../../helpers/formats.js';

type Json = Record<string, unknown>;
type CloudTrailEvent = Json & { additionalEventData: Json & { requestParameters: Json } };

const load = (name: string): CloudTrailEvent =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/cognito/${name}`, import.meta.url), 'utf8')) as CloudTrailEvent;
const loadEntra = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/entra/${name}`, import.meta.url), 'utf8')) as Json;

const { single, adaptOne } = adapterHelpers(cognitoFormat);

describe('cognito: Token_POST with grant_type client_credentials', () => {
  it('maps the documented client_credentials event field by field', () => {
    const result = adaptOne(load('client-credentials-success.json'));
    // CloudTrail does not log the client authentication method: unknown, and not counted.
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toStrictEqual({
      event_id: '473e5cbc-a5b3-4578-9ad6-3dfdcb8a6d34',
      time: '2026-03-02T21:07:05Z',
      idp: 'cognito',
      tenant: 'us-west-2_EXAMPLE',
      client_id: '1example23456789',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '192.0.2.1',
      user_agent: 'python-requests/2.31.0',
      scopes: ['orders/read', 'orders/write'],
    });
    expect(validated(result.event).time).toBe(Date.UTC(2026, 2, 2, 21, 7, 5));
  });

  it('maps a request CloudTrail marked with an errorCode to failure with that code', () => {
    const { event } = adaptOne(load('client-credentials-error-code.json'));
    expect(event).toMatchObject({ outcome: 'failure', error_code: 'invalid_client', source_ip: '203.0.113.50' });
    expect(validated(event).error_code).toBe('invalid_client');
  });

  it('maps an HTTP error status with an empty errorCode to failure with the status', () => {
    const { event } = adaptOne(load('client-credentials-http-401.json'));
    expect(event).toMatchObject({ outcome: 'failure', error_code: '401' });
    validated(event);
  });

  it('treats an empty errorCode with status 200 as success', () => {
    const record = load('client-credentials-http-401.json');
    record.additionalEventData.responseParameters = { status: 200 };
    const { event } = adaptOne(record);
    expect(event.outcome).toBe('success');
    expect('error_code' in event).toBe(false);
  });

  it('accepts form parameters as bare strings and an IPv6 source address', () => {
    const { event } = adaptOne(load('client-credentials-ipv6-scalar.json'));
    expect(event).toMatchObject({
      client_id: '7scalarclientid0example',
      grant_type: 'client_credentials',
      tenant: 'eu-central-1_AbCdEf123',
      source_ip: '2001:db8:1234::42',
      outcome: 'success',
    });
    expect(validated(event).source_ip).toBe('2001:db8:1234::42');
  });

  it('leaves out what the record lacks and falls back from userPoolId to userPoolDomain to recipientAccountId', () => {
    const minimal = load('client-credentials-minimal.json');
    const { event } = adaptOne(minimal);
    expect(event).toStrictEqual({
      event_id: '2c3d4e5f-3333-4444-8555-666677778888',
      time: '2026-03-02T21:11:00Z',
      idp: 'cognito',
      tenant: 'minimal.auth.us-east-1.amazoncognito.com',
      client_id: '3minimalclient000example',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '198.51.100.99',
    });
    expect(validated(event).scopes).toEqual([]);

    delete minimal.additionalEventData.userPoolDomain;
    expect(adaptOne(minimal).event.tenant).toBe('210987654321');
  });
});

describe('cognito: events that are not machine token requests', () => {
  it('skips an authorization_code Token_POST', () => {
    expect(single(load('authorization-code.json'))).toEqual({
      kind: 'skip',
      reason: 'cognito: grant_type authorization_code is not client_credentials',
    });
  });

  it('skips a CloudTrail log file with no Records (every message gets a result; found by the fuzz test)', () => {
    expect(cognitoFormat.adapt({ Records: [] })).toEqual([{ kind: 'skip', reason: 'cognito: CloudTrail log file holds no Records' }]);
  });

  it('skips a hosted UI Login_GET', () => {
    expect(single(load('login-get.json'))).toEqual({ kind: 'skip', reason: 'cognito: eventName Login_GET is not Token_POST' });
  });

  it('skips a Token_POST without grant_type', () => {
    const record = load('client-credentials-success.json');
    delete record.additionalEventData.requestParameters.grant_type;
    expect(single(record)).toEqual({
      kind: 'skip',
      reason: 'cognito: Token_POST without additionalEventData.requestParameters.grant_type',
    });
  });

  it('skips CloudTrail events of other services', () => {
    const envelope = load('cloudtrail-envelope.json') as unknown as { Records: Json[] };
    const s3 = envelope.Records[1]!;
    expect(cognitoFormat.matches(s3)).toBe(true);
    expect(single(s3)).toEqual({ kind: 'skip', reason: 'cognito: eventSource s3.amazonaws.com is not cognito-idp.amazonaws.com' });
  });
});

describe('cognito: CloudTrail log file {"Records": [...]}', () => {
  it('adapts each record in order, naming the index of a dead letter', () => {
    const results = cognitoFormat.adapt(load('cloudtrail-envelope.json'));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'skip', 'skip', 'dlq', 'ok']);
    expect(results[2]).toEqual({ kind: 'skip', reason: 'cognito: Records[2]: grant_type refresh_token is not client_credentials' });
    expect(results[3]).toEqual({ kind: 'dlq', reason: 'cognito: Records[3]: eventID is missing' });
    expect(validated(eventOf(results[0]).event)).toMatchObject({ client_id: '1example23456789', outcome: 'success' });
    expect(validated(eventOf(results[4]).event)).toMatchObject({ client_id: '4anotherclient00example', source_ip: '2001:db8::beef' });
  });

  it('turns non-object records into dead letters instead of throwing', () => {
    expect(cognitoFormat.adapt({ Records: [null, 'x', [1]] })).toEqual(
      [0, 1, 2].map((index) => ({ kind: 'dlq', reason: `cognito: Records[${index}] is not an object` })),
    );
  });
});

describe('cognito: malformed records', () => {
  const cases = JSON.parse(
    readFileSync(new URL('../../fixtures/formats/cognito/malformed-records.json', import.meta.url), 'utf8'),
  ) as { name: string; reason: string; record: Json }[];

  it('has cases to run', () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s -> dead letter naming the field', (_name, { reason, record }) => {
    expect(cognitoFormat.adapt(record)).toEqual([{ kind: 'dlq', reason }]);
  });
});

describe('cognito: secrets never reach the event', () => {
  const secrets = [
    'SuperSecretValue-never-log',
    'MWV4YW1wbGUyMzQ1Njc4OTpTdXBlclNlY3JldFZhbHVlLW5ldmVyLWxvZw==',
    'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9',
    'c2lnbmF0dXJlLW5ldmVyLWxvZw',
    'jwt-bearer',
  ];

  it('picks only mapped parameters when requestParameters hold client_secret, client_assertion and an Authorization header', () => {
    const record = load('secrets-stuffed.json');
    for (const secret of secrets) expect(JSON.stringify(record)).toContain(secret);

    const results = cognitoFormat.adapt(record);
    const result = eventOf(results[0]);
    const serialised = JSON.stringify(results);
    for (const secret of secrets) expect(serialised).not.toContain(secret);
    expect(Object.keys(result.event).every((key) => key in tokenRequestSchema.shape)).toBe(true);
    // A secret in the request is not evidence of how Cognito authenticated the client.
    expect(result.event.auth_method).toBe('unknown');
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(validated(result.event)).toMatchObject({ client_id: '1example23456789', outcome: 'success' });
  });
});

describe('cognito: matches', () => {
  const cognitoFixtures = [
    'client-credentials-success.json',
    'client-credentials-error-code.json',
    'client-credentials-http-401.json',
    'client-credentials-ipv6-scalar.json',
    'client-credentials-minimal.json',
    'authorization-code.json',
    'login-get.json',
    'cloudtrail-envelope.json',
    'secrets-stuffed.json',
  ];

  it.each(cognitoFixtures)('claims %s', (name) => {
    expect(cognitoFormat.matches(load(name))).toBe(true);
  });

  it('does not claim other formats', () => {
    const others: Json[] = [
      loadEntra('service-principal-secret-success.json'),
      loadEntra('event-hubs-envelope.json'),
      loadEntra('graph-service-principal.json'),
      { event_id: 'e-1', idp: 'cognito', time: '2026-03-02T09:15:42Z', source_ip: '192.0.2.1' },
      { log_id: 'l-1', type: 'seccft', date: '2026-03-02T09:15:42Z', client_id: 'c-1' },
      // An S3 event notification: also {"Records": [...]}, but not CloudTrail.
      {
        Records: [
          { eventVersion: '2.1', eventSource: 'aws:s3', eventTime: '2026-03-02T09:15:42.000Z', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' } } },
        ],
      },
    ];
    for (const record of others) expect(cognitoFormat.matches(record), JSON.stringify(record).slice(0, 80)).toBe(false);
  });

  it('is not claimed by the Entra adapter', () => {
    for (const name of cognitoFixtures) expect(entraFormat.matches(load(name)), name).toBe(false);
  });
});
