import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entraFormat } from '@tokenwatch/ingest/formats/entra';
import { cognitoFormat } from '@tokenwatch/ingest/formats/cognito';
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { adapterHelpers, eventOf, validated } from '../../helpers/formats.js';

type Json = Record<string, unknown>;

const load = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/entra/${name}`, import.meta.url), 'utf8')) as Json;
const loadCognito = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/cognito/${name}`, import.meta.url), 'utf8')) as Json;

/** A deep copy of a fixture, changed by `edit`: variants stay next to the test that needs them. */
function variant(name: string, edit: (record: Json & { properties: Json }) => void): Json {
  const record = load(name) as Json & { properties: Json };
  edit(record);
  return record;
}

const { single, adaptOne } = adapterHelpers(entraFormat);

describe('entra: Azure Monitor ServicePrincipalSignInLogs', () => {
  it('skips an empty Graph page (value: []) with a reason', () => {
    expect(entraFormat.adapt({ value: [] })).toEqual([{ kind: 'skip', reason: 'entra: value holds no records' }]);
  });

  it('maps a successful client-secret sign-in field by field', () => {
    const result = adaptOne(load('service-principal-secret-success.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toStrictEqual({
      event_id: 'd5935dca-86f2-4ac9-a42c-3593b00af801',
      time: '2026-03-02T09:15:42.6733668Z',
      idp: 'entra',
      tenant: '6f1a2b3c-4d5e-4f60-8a71-92b3c4d5e6f7',
      client_id: '6131d760-7fda-4db5-8bb1-b771898e9f15',
      client_name: 'billing-exporter',
      grant_type: 'client_credentials',
      auth_method: 'client_secret',
      credential_id: 'dbcd79c0-c3ea-46b9-9604-ff40d43b8618',
      outcome: 'success',
      source_ip: '198.51.100.23',
      audience: '797f4846-ba00-4fd7-ba43-dac1f8f63013',
      geo: { country: 'DE', city: 'Frankfurt am Main' },
    });
    const parsed = validated(result.event);
    expect(parsed.time).toBe(Date.UTC(2026, 2, 2, 9, 15, 42, 673));
    expect(parsed.scopes).toEqual([]);
  });

  it('maps an expired-secret failure (AADSTS7000222) to failure with the error code as a string', () => {
    const { event } = adaptOne(load('service-principal-expired-secret.json'));
    expect(event).toMatchObject({
      outcome: 'failure',
      error_code: '7000222',
      auth_method: 'client_secret',
      credential_id: '7b1c2d3e-4f50-4a61-b72c-83d94e05f160',
      client_name: 'legacy-sync-job',
      audience: '00000003-0000-0000-c000-000000000000',
      geo: { country: 'NL', city: 'Amsterdam' },
    });
    expect(validated(event).error_code).toBe('7000222');
  });

  it('maps a certificate credential to private_key_jwt with the thumbprint as credential, from an IPv6 address', () => {
    const { event, ...rest } = adaptOne(load('service-principal-certificate-ipv6.json'));
    expect(rest).toEqual({ kind: 'ok', raw: expect.any(String) });
    expect(event).toMatchObject({
      auth_method: 'private_key_jwt',
      credential_id: '4A1B2C3D4E5F60718293A4B5C6D7E8F901234567',
      source_ip: '2001:db8:85a3::8a2e:370:7334',
      outcome: 'success',
    });
    expect(validated(event).source_ip).toBe('2001:db8:85a3::8a2e:370:7334');
  });

  it('leaves out optional fields the record lacks, and takes callerIpAddress when properties.ipAddress is empty', () => {
    const result = adaptOne(load('service-principal-minimal.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toStrictEqual({
      event_id: '989c6c81-1332-4d1c-b496-b26124ab9000',
      time: '2026-03-02T11:30:00.5000000Z',
      idp: 'entra',
      tenant: '6f1a2b3c-4d5e-4f60-8a71-92b3c4d5e6f7',
      client_id: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '192.0.2.44',
    });
    expect(validated(result.event).time).toBe(Date.UTC(2026, 2, 2, 11, 30, 0, 500));
  });

  it('prefers the record time and falls back to properties.createdDateTime', () => {
    const both = variant('service-principal-secret-success.json', (record) => {
      record.properties.createdDateTime = '2026-03-02T09:15:40Z';
    });
    expect(adaptOne(both).event.time).toBe('2026-03-02T09:15:42.6733668Z');
    const onlyCreated = variant('service-principal-secret-success.json', (record) => {
      delete record.time;
    });
    const { event } = adaptOne(onlyCreated);
    expect(event.time).toBe('2026-03-02T09:15:42.6733668+00:00');
    expect(validated(event).time).toBe(Date.UTC(2026, 2, 2, 9, 15, 42, 673));
  });

  it('reads the outcome from a numeric resultType when properties.status is absent', () => {
    const ok = variant('service-principal-secret-success.json', (record) => {
      record.resultType = 0;
      delete record.properties.status;
    });
    expect(adaptOne(ok).event.outcome).toBe('success');
    const failed = variant('service-principal-secret-success.json', (record) => {
      record.resultType = '7000215';
      delete record.properties.status;
    });
    expect(adaptOne(failed).event).toMatchObject({ outcome: 'failure', error_code: '7000215' });
  });

  it('takes properties.status.errorCode over resultType', () => {
    const record = variant('service-principal-secret-success.json', (r) => {
      r.resultType = '0';
      r.properties.status = { errorCode: 7000215 };
    });
    expect(adaptOne(record).event).toMatchObject({ outcome: 'failure', error_code: '7000215' });
  });
});

describe('entra: clientCredentialType', () => {
  const withType = (type: unknown, file = 'service-principal-secret-success.json') =>
    adaptOne(
      variant(file, (record) => {
        record.properties.clientCredentialType = type;
      }),
    );

  it.each([
    ['clientSecret', 'client_secret'],
    ['ClientSecret', 'client_secret'],
    ['clientAssertion', 'private_key_jwt'],
    ['certificate', 'private_key_jwt'],
    ['federatedIdentityCredential', 'federated'],
    ['managedIdentity', 'managed_identity'],
  ])('%s -> %s', (type, method) => {
    const result = withType(type);
    expect(result.event.auth_method).toBe(method);
    expect(result.unknownAuthMethod).toBeUndefined();
    validated(result.event);
  });

  it('counts a value it does not know (unknown, with unknownAuthMethod)', () => {
    const result = withType('passkeyForWorkloads');
    expect(result.event.auth_method).toBe('unknown');
    expect(result.unknownAuthMethod).toBe('passkeyForWorkloads');
  });

  it('maps the documented "none" and a missing type to unknown without counting them', () => {
    for (const type of ['none', '', undefined]) {
      const result = withType(type);
      expect(result.event.auth_method).toBe('unknown');
      expect(result.unknownAuthMethod).toBeUndefined();
    }
  });

  it('defaults a managed identity sign-in without a type to managed_identity, but keeps an explicit type', () => {
    expect(withType(undefined, 'managed-identity.json').event.auth_method).toBe('managed_identity');
    expect(withType('none', 'managed-identity.json').event.auth_method).toBe('managed_identity');
    expect(withType('federatedIdentityCredential', 'managed-identity.json').event.auth_method).toBe('federated');
  });
});

describe('entra: ManagedIdentitySignInLogs', () => {
  it('maps a managed identity sign-in as a client_credentials request by managed_identity', () => {
    const result = adaptOne(load('managed-identity.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toStrictEqual({
      event_id: 'a08869a8-3b15-46e4-8de3-273849e60100',
      time: '2026-03-02T04:59:49.2279838Z',
      idp: 'entra',
      tenant: '6f1a2b3c-4d5e-4f60-8a71-92b3c4d5e6f7',
      client_id: 'b3b975ac-995b-426e-8b5d-363a165df41c',
      client_name: 'vm-batch-worker',
      grant_type: 'client_credentials',
      auth_method: 'managed_identity',
      outcome: 'success',
      source_ip: '203.0.113.9',
      audience: '797f4846-ba00-4fd7-ba43-dac1f8f63013',
    });
    validated(result.event);
  });

  it('skips a managed identity sign-in logged without an IP address rather than inventing one', () => {
    const result = single(load('managed-identity-no-ip.json'));
    expect(result).toEqual({
      kind: 'skip',
      reason: 'entra: managed identity sign-in without an IP address (properties.ipAddress is empty)',
    });
  });
});

describe('entra: records that are not client token requests', () => {
  it('skips an interactive user sign-in (category SignInLogs)', () => {
    expect(single(load('user-signin.json'))).toEqual({
      kind: 'skip',
      reason: 'entra: category SignInLogs is not a service principal or managed identity sign-in',
    });
  });

  it('skips a Graph signIn of an interactive user', () => {
    expect(single(load('graph-interactive-user.json'))).toEqual({
      kind: 'skip',
      reason: 'entra: Graph signIn of type interactiveUser is not a service principal or managed identity sign-in',
    });
  });

  it('skips a Graph signIn without signInEventTypes (the v1.0 shape, user sign-ins only)', () => {
    const record = load('graph-service-principal.json');
    delete record.signInEventTypes;
    const result = single(record);
    expect(result.kind).toBe('skip');
    expect(result.kind === 'skip' && result.reason).toContain('without signInEventTypes');
  });
});

describe('entra: Event Hubs envelope {"records": [...]}', () => {
  it('adapts each record in order: token requests, skips and a dead letter naming its index', () => {
    const results = entraFormat.adapt(load('event-hubs-envelope.json'));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'skip', 'skip', 'ok', 'dlq']);
    expect(results[1]).toEqual({
      kind: 'skip',
      reason: 'entra: records[1]: category NonInteractiveUserSignInLogs is not a service principal or managed identity sign-in',
    });
    expect(results[2]).toMatchObject({ reason: expect.stringContaining('records[2]: category AuditLogs') });
    expect(results[4]).toEqual({ kind: 'dlq', reason: 'entra: records[4]: properties.id is missing' });

    const first = validated(eventOf(results[0]).event);
    expect(first).toMatchObject({
      event_id: 'aff44b42-16b3-429b-99c0-5658c6314d01',
      tenant: '4bbb79f7-5724-4c9e-95f3-de075f6ec090',
      client_name: 'Terraform-CLI',
      auth_method: 'client_secret',
      source_ip: '198.51.100.4',
      geo: { country: 'IN', city: 'Hyderabad' },
    });
    const managed = validated(eventOf(results[3]).event);
    expect(managed).toMatchObject({ auth_method: 'managed_identity', client_name: 'func-orders', source_ip: '203.0.113.200' });
  });

  it('turns non-object records into dead letters instead of throwing', () => {
    const results = entraFormat.adapt({ records: [null, 5, 'text', []] });
    expect(results).toEqual([0, 1, 2, 3].map((index) => ({ kind: 'dlq', reason: `entra: records[${index}] is not an object` })));
  });

  it('skips an empty batch with a reason, like Okta and Cognito (every message gets a result)', () => {
    expect(entraFormat.adapt({ records: [] })).toEqual([{ kind: 'skip', reason: 'entra: records holds no records' }]);
  });
});

describe('entra: Microsoft Graph signIn (beta)', () => {
  it('maps a service principal signIn with user agent, ASN and resource tenant', () => {
    const result = adaptOne(load('graph-service-principal.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toStrictEqual({
      event_id: '66ea54eb-6301-4ee5-be62-ff5a759b0100',
      time: '2026-03-02T12:44:19Z',
      idp: 'entra',
      tenant: 'aaaabbbb-0000-cccc-1111-dddd2222eeee',
      client_id: '3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7',
      client_name: 'inventory-sync',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      credential_id: 'c0ffee00-1111-4222-8333-444455556666',
      outcome: 'success',
      source_ip: '198.51.100.150',
      user_agent: 'azsdk-python-identity/1.16.0 Python/3.12.2 (Linux-6.5.0-x86_64-with-glibc2.35)',
      audience: '00000003-0000-0000-c000-000000000000',
      geo: { country: 'GB', city: 'London', asn: 64500 },
    });
    expect(validated(result.event).geo?.asn).toBe(64500);
  });

  it('adapts a Graph list response {"value": [...]}', () => {
    const results = entraFormat.adapt(load('graph-list-response.json'));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'skip']);

    const federated = validated(eventOf(results[0]).event);
    expect(federated).toMatchObject({
      auth_method: 'federated',
      credential_id: 'fc0e1d2c-3b4a-4596-8877-665544332211',
      outcome: 'failure',
      error_code: '700213',
      source_ip: '2001:db8::1f',
      geo: { country: 'US', city: 'Ashburn', asn: 8075 },
    });

    const managed = validated(eventOf(results[1]).event);
    // Graph signIn has no tenantId and this one no resourceTenantId: the documented fallback.
    expect(managed).toMatchObject({ auth_method: 'managed_identity', tenant: 'default', client_name: 'aks-node-identity' });
    expect(results[2]).toMatchObject({ kind: 'skip', reason: expect.stringContaining('value[2]: Graph signIn of type nonInteractiveUser') });
  });

  it('leaves out a country that is not a two-letter code and ASN 0 instead of failing the event', () => {
    const record = load('graph-service-principal.json');
    record.location = { city: 'Somewhere', countryOrRegion: 'Unknown' };
    record.autonomousSystemNumber = 0;
    const { event } = adaptOne(record);
    expect(event.geo).toEqual({ city: 'Somewhere' });
    validated(event);
  });
});

describe('entra: malformed records', () => {
  const cases = JSON.parse(
    readFileSync(new URL('../../fixtures/formats/entra/malformed-records.json', import.meta.url), 'utf8'),
  ) as { name: string; reason: string; record: Json }[];

  it('has cases to run', () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s -> dead letter naming the field', (_name, { reason, record }) => {
    expect(entraFormat.adapt(record)).toEqual([{ kind: 'dlq', reason }]);
  });
});

describe('entra: secrets never reach the event', () => {
  const secrets = [
    'SuperSecretValue-never-log',
    'c3ZjLWJpbGxpbmc6U3VwZXJTZWNyZXRWYWx1ZS1uZXZlci1sb2c=',
    'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9',
    'c2lnbmF0dXJlLW5ldmVyLWxvZw',
    'Bearer',
    'eyJhbGciOiJSUzI1NiJ9',
    'c2VjcmV0LXRva2VuLWlkZW50aWZpZXI',
  ];

  it('picks only mapped fields from a record stuffed with an Authorization header, a client secret and a client assertion', () => {
    const record = load('secrets-stuffed.json');
    // The fixture really carries them, so the test below can fail.
    for (const secret of secrets) expect(JSON.stringify(record)).toContain(secret);

    const results = entraFormat.adapt(record);
    const result = eventOf(results[0]);
    const serialised = JSON.stringify(results);
    for (const secret of secrets) expect(serialised).not.toContain(secret);
    expect(Object.keys(result.event).every((key) => key in tokenRequestSchema.shape)).toBe(true);
    expect(validated(result.event)).toMatchObject({ auth_method: 'private_key_jwt', client_name: 'billing-exporter' });
  });
});

describe('entra: matches', () => {
  const entraFixtures = [
    'service-principal-secret-success.json',
    'service-principal-expired-secret.json',
    'service-principal-certificate-ipv6.json',
    'service-principal-minimal.json',
    'managed-identity.json',
    'managed-identity-no-ip.json',
    'user-signin.json',
    'event-hubs-envelope.json',
    'graph-service-principal.json',
    'graph-interactive-user.json',
    'graph-list-response.json',
    'secrets-stuffed.json',
  ];

  it.each(entraFixtures)('claims %s', (name) => {
    expect(entraFormat.matches(load(name))).toBe(true);
  });

  it('does not claim other formats', () => {
    const others: Json[] = [
      loadCognito('client-credentials-success.json'),
      loadCognito('cloudtrail-envelope.json'),
      { event_id: 'e-1', idp: 'entra', time: '2026-03-02T09:15:42Z', source_ip: '192.0.2.1' },
      { uuid: 'u-1', published: '2026-03-02T09:15:42Z', eventType: 'app.oauth2.as.token.grant.access_token' },
      { log_id: 'l-1', type: 'seccft', date: '2026-03-02T09:15:42Z', client_id: 'c-1' },
      { records: [{ time: '2026-03-02T09:15:42Z', category: 'AuditEvent', resourceId: '/SUBSCRIPTIONS/X/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/V', properties: {} }] },
      { value: [1, 2, 3] },
    ];
    for (const record of others) expect(entraFormat.matches(record), JSON.stringify(record).slice(0, 80)).toBe(false);
  });

  it('claims an envelope when any record is an Entra record (shared Event Hub)', () => {
    const envelope = load('event-hubs-envelope.json') as { records: unknown[] };
    envelope.records.unshift({ category: 'AuditEvent', resourceId: '/SUBSCRIPTIONS/X/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/V', properties: {} });
    expect(entraFormat.matches(envelope as Json)).toBe(true);
  });

  it('is not claimed by the Cognito adapter', () => {
    for (const name of entraFixtures) expect(cognitoFormat.matches(load(name)), name).toBe(false);
  });
});
