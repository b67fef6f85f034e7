import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import type { DecodeResult } from '@tokenwatch/ingest/results';
import { REDACTED } from '@tokenwatch/shared/redact';
import { stuffEverywhere } from '../../helpers/formats.js';
import { readRow } from '../../helpers/stored-row.js';

/**
 * The `raw` column per format, from the fixtures: which fields each format keeps, and that the
 * secrets in the fixtures (and stuffed into them at every depth) never reach it.
 */

type Ok = Extract<DecodeResult, { kind: 'ok' }>;
const DIR = new URL('../../fixtures/formats/', import.meta.url);
const read = (format: string, file: string) => readFileSync(new URL(`${format}/${file}`, DIR), 'utf8');
const decode = (input: string) => decodeMessage(input, { adapters: FORMATS, format: 'auto' });

function oks(input: string): Ok[] {
  return decode(input).filter((result): result is Ok => result.kind === 'ok');
}
function rawOf(result: Ok): Record<string, unknown> {
  expect(typeof result.raw).toBe('string');
  expect(readRow(result.line).raw).toBe(result.raw);
  return JSON.parse(result.raw as string) as Record<string, unknown>;
}
function onlyRaw(format: string, file: string): Record<string, unknown> {
  const results = oks(read(format, file));
  expect(results).toHaveLength(1);
  return rawOf(results[0] as Ok);
}

const CLIENT_SECRET = 'Stuffed-S3cret-client-value-9917';
const PASSWORD = 'stuffed-pa55word-1234';
const REFRESH_TOKEN = 'rt-stuffed-4b7d41e6a2b5';
const BASIC = Buffer.from(`svc:${CLIENT_SECRET}`).toString('base64');
const ASSERTION = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzdmMiLCJqdGkiOiJzdHVmZmVkIn0.c3R1ZmZlZC1zaWduYXR1cmUtdmFsdWU';
const STUFFED = [CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, BASIC, ASSERTION, 'c3R1ZmZlZC1zaWduYXR1cmUtdmFsdWU'];

/** Adds credential-bearing and unknown fields to every object of a record, at every depth. */
const stuff = (value: unknown): unknown =>
  stuffEverywhere(value, {
    client_secret: CLIENT_SECRET,
    client_assertion: ASSERTION,
    password: PASSWORD,
    refresh_token: REFRESH_TOKEN,
    headers: { Authorization: `Basic ${BASIC}` },
    vendorAddedLater: { note: 'an unknown field' },
  });

const JSON_FIXTURES = readdirSync(DIR).flatMap((format) =>
  readdirSync(new URL(`${format}/`, DIR))
    .filter((file) => file.endsWith('.json') || file.endsWith('.jsonl'))
    .map((file) => ({ format, file })),
);
const inputsOf = ({ format, file }: { format: string; file: string }): string[] =>
  file.endsWith('.jsonl') ? read(format, file).split('\n').filter((line) => line.trim() !== '') : [read(format, file)];

const leafCount = (value: unknown): number =>
  typeof value === 'object' && value !== null ? Object.values(value).reduce((sum: number, inner) => sum + leafCount(inner), 0) : 1;

describe('raw: every fixture', () => {
  it('gives every valid vendor event a raw copy that is a JSON object', () => {
    let events = 0;
    for (const fixture of JSON_FIXTURES) {
      for (const input of inputsOf(fixture)) {
        for (const result of oks(input)) {
          events += 1;
          const raw = rawOf(result);
          // Fields, not top-level keys: a Keycloak replay report's raw is {log, mdc, replay}.
          expect(leafCount(raw), `${fixture.format}/${fixture.file}`).toBeGreaterThan(3);
        }
      }
    }
    expect(events).toBeGreaterThan(30);
  });

  it('is fail-closed: stuffing secrets and unknown fields at every depth changes nothing in raw', () => {
    let compared = 0;
    for (const fixture of JSON_FIXTURES) {
      for (const input of inputsOf(fixture)) {
        const plain = oks(input);
        const stuffed = oks(JSON.stringify(stuff(JSON.parse(input))));
        // Same events (event ids aside: Keycloak derives a missing one from the whole record).
        expect(stuffed.map((result) => result.event.client_id), `${fixture.format}/${fixture.file}`).toEqual(
          plain.map((result) => result.event.client_id),
        );
        stuffed.forEach((result, index) => {
          compared += 1;
          expect(result.raw, `${fixture.format}/${fixture.file}`).toBe(plain[index]?.raw);
          for (const secret of STUFFED) expect(result.raw).not.toContain(secret);
          expect(result.raw).not.toContain('vendorAddedLater');
          expect(result.raw).not.toMatch(/"(client_secret|client_assertion|password|refresh_token|headers)":/);
        });
      }
    }
    expect(compared).toBeGreaterThan(30);
  });
});

describe('raw: per format', () => {
  it('okta keeps the mapped and context fields, not debugData secrets or the issued token id', () => {
    const raw = onlyRaw('okta', 'cc-success-custom-as.json');
    expect(Object.keys(raw)).toEqual(
      expect.arrayContaining(['uuid', 'published', 'eventType', 'outcome', 'actor', 'client', 'securityContext', 'request', 'debugContext']),
    );
    expect(raw).toMatchObject({
      client: { userAgent: { rawUserAgent: 'okhttp/4.12.0' }, geographicalContext: { city: 'Ashburn', country: 'United States' } },
      securityContext: { asNumber: 14618, asOrg: 'amazon.com inc.' },
      request: { ipChain: [{ ip: '203.0.113.42', version: 'V4' }] },
      debugContext: { debugData: { grantType: 'client_credentials', clientAuthType: 'private_key_jwt', authorizationServer: 'aus5x9q2w7EfGhJkL0d7' } },
    });
    expect(raw).not.toHaveProperty('target');
    expect(raw).not.toHaveProperty('authenticationContext');
    expect(JSON.stringify(raw)).not.toContain('AT.Xq3mV0bN8cR2tY6uI9oP1aS4dF7gH0jK');

    const secrets = read('okta', 'secrets-in-debugdata.json');
    const stuffed = JSON.stringify(onlyRaw('okta', 'secrets-in-debugdata.json'));
    for (const secret of ['okta-SECRET-q8Zt3VwXy5Rb1Nc7Md2Ke9', 'MG9hOGYyazRtMVFiWHlaOWQ1ZDc6b2t0YS1TRUNSRVQtQVVUSEhFQURFUg==', 'b2t0YS1zZWNyZXQtc2lnbmF0dXJl']) {
      expect(secrets).toContain(secret);
      expect(stuffed).not.toContain(secret);
    }
    expect(stuffed).not.toMatch(/requestBody|requestHeaders|clientSecret|client_assertion/);
  });

  it('auth0 keeps the inner log event of a stream record, not details.request', () => {
    const raw = onlyRaw('auth0', 'secrets-in-details.json');
    expect(raw).toMatchObject({ type: 'feccft', description: 'Unauthorized', client_id: 'Xk2mQ9vR4tY7uI0oP3aS6dF8gH1jK5lZ', ip: '203.0.113.42' });
    expect(raw).not.toHaveProperty('details');
    const text = JSON.stringify(raw);
    for (const secret of ['auth0-SECRET-h4Jk8Lm2Np6Qr0St3Uv7Wx', 'WGsybVE5dlI0dFk3dUkwb1AzYVM2ZEY4Z0gxaks1bFo6YXV0aDAtU0VDUkVULUFVVEhIRUFERVI=', 'YXV0aDAtc2VjcmV0LXNpZ25hdHVyZQ']) {
      expect(text).not.toContain(secret);
    }
    const success = onlyRaw('auth0', 'seccft-success.json');
    expect(success).toMatchObject({
      log_id: '90020260414083107512000000000000000000000000000000000001',
      scope: 'read:orders write:orders',
      location_info: { country_code: 'US', city_name: 'Ashburn' },
      security_context: { ja3: '771,4865-4866-4867,0-23-65281,29-23-24,0' },
    });
    // details.access_token_jti and details.actions are not on the allowlist.
    expect(success).not.toHaveProperty('details');
    expect(onlyRaw('auth0', 'seccft-ipv6-scope-array.json')).toMatchObject({ scope: ['read:inventory', 'write:inventory'] });
  });

  it('entra keeps the envelope and the listed sign-in properties, not processing details or token ids', () => {
    const raw = onlyRaw('entra', 'service-principal-secret-success.json');
    expect(raw).toMatchObject({
      category: 'ServicePrincipalSignInLogs',
      tenantId: '6f1a2b3c-4d5e-4f60-8a71-92b3c4d5e6f7',
      callerIpAddress: '198.51.100.23',
      properties: {
        id: 'd5935dca-86f2-4ac9-a42c-3593b00af801',
        appId: '6131d760-7fda-4db5-8bb1-b771898e9f15',
        clientCredentialType: 'clientSecret',
        status: { errorCode: 0 },
        location: { city: 'Frankfurt am Main', countryOrRegion: 'DE' },
        riskLevelDuringSignIn: 'low',
      },
    });
    const properties = raw.properties as Record<string, unknown>;
    expect(properties).not.toHaveProperty('uniqueTokenIdentifier');
    expect(properties).not.toHaveProperty('authenticationProcessingDetails');

    const stuffed = JSON.stringify(onlyRaw('entra', 'secrets-stuffed.json'));
    for (const secret of ['SuperSecretValue-never-log', 'c3ZjLWJpbGxpbmc6U3VwZXJTZWNyZXRWYWx1ZS1uZXZlci1sb2c=', 'c2lnbmF0dXJlLW5ldmVyLWxvZw', 'dG9rZW4tc2lnbmF0dXJl', 'c2VjcmV0LXRva2VuLWlkZW50aWZpZXI']) {
      expect(stuffed).not.toContain(secret);
    }
    // A Graph signIn is the sign-in itself: the same fields at the top.
    expect(onlyRaw('entra', 'graph-service-principal.json')).toMatchObject({ appId: '3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7', clientCredentialType: 'clientAssertion' });
  });

  it('cognito keeps grant_type, client_id and scope of the form, no other parameter', () => {
    const raw = onlyRaw('cognito', 'secrets-stuffed.json');
    expect(raw).toMatchObject({
      eventName: 'Token_POST',
      sourceIPAddress: '192.0.2.1',
      additionalEventData: {
        userPoolId: 'us-west-2_EXAMPLE',
        responseParameters: { status: 200 },
        requestParameters: { grant_type: ['client_credentials'], client_id: ['1example23456789'] },
      },
    });
    expect(Object.keys((raw.additionalEventData as { requestParameters: object }).requestParameters).sort()).toEqual(['client_id', 'grant_type']);
    expect(raw).not.toHaveProperty('requestParameters');
    const text = JSON.stringify(raw);
    for (const secret of ['SuperSecretValue-never-log', 'MWV4YW1wbGUyMzQ1Njc4OTpTdXBlclNlY3JldFZhbHVlLW5ldmVyLWxvZw==', 'c2lnbmF0dXJlLW5ldmVyLWxvZw']) {
      expect(text).not.toContain(secret);
    }
  });

  it('oidc-provider keeps the documented fields and the assertion claims, not the assertion itself', () => {
    const raw = onlyRaw('oidc-provider', 'grant-error-replay.json');
    expect(raw).toEqual(JSON.parse(read('oidc-provider', 'grant-error-replay.json')));
    const record = { ...(JSON.parse(read('oidc-provider', 'grant-success.json')) as Record<string, unknown>) };
    record.assertion = { ...(record.assertion as object), client_assertion: ASSERTION, signature: 'c3R1ZmZlZC1zaWduYXR1cmUtdmFsdWU' };
    record.error_detail = `bad assertion ${ASSERTION}`;
    const [result] = oks(JSON.stringify(record));
    const text = (result as Ok).raw as string;
    expect(text).not.toContain('c3R1ZmZlZC1zaWduYXR1cmUtdmFsdWU');
    expect(JSON.parse(text)).toMatchObject({ error_detail: `bad assertion ${REDACTED}`, assertion: { jti: '0f9b8c1e-2d3a-4b5c-8d7e-6f5a4b3c2d1e', kid: 'orders-2026-11' } });
    expect((JSON.parse(text) as { assertion: object }).assertion).not.toHaveProperty('signature');
  });

  it('keycloak keeps the event representation and the known details of a REST event', () => {
    const [first] = oks(read('keycloak', 'admin-rest-events.json'));
    expect(rawOf(first as Ok)).toEqual({
      time: 1795827723456,
      type: 'CLIENT_LOGIN',
      realmId: '5f0c3b8e-2d7a-4c1e-9b3f-1a2b3c4d5e6f',
      clientId: 'svc-orders',
      userId: '0b7d1c7e-4f1f-4d8a-a5f4-3c9f2f0e2d11',
      ipAddress: '203.0.113.24',
      details: {
        grant_type: 'client_credentials',
        client_auth_method: 'client-jwt',
        scope: 'orders.read orders.write',
        username: 'service-account-svc-orders',
        token_id: 'trrtcc:7efd5479-258c-4e44-8f02-69dfcda52bbc',
      },
    });
  });

  it('keycloak log lines: the parsed pairs in the representation shape, never the line; unknown pairs dropped', () => {
    const lines = read('keycloak', 'jboss-logging.log').split('\n').filter((line) => line.trim() !== '');
    const raw = rawOf(oks(lines[0] as string)[0] as Ok);
    expect(raw).toEqual({
      type: 'CLIENT_LOGIN',
      realmId: 'ce670a60-7052-4beb-af09-90582e3893bc',
      realmName: 'acme',
      clientId: 'svc-orders',
      userId: '6144464d-bc04-4231-99e7-bc0b700311b8',
      ipAddress: '10.42.0.14',
      details: {
        grant_type: 'client_credentials',
        client_auth_method: 'client-secret',
        scope: 'email groups profile',
        username: 'service-account-svc-orders',
        token_id: 'trrtcc:7efd5479-258c-4e44-8f02-69dfcda52bbc',
      },
    });
    // authSessionParentId/TabId are not listed; neither is the log prefix.
    expect(JSON.stringify(raw)).not.toMatch(/authSession|executor-thread|DEBUG/);

    const line =
      `2026-11-28 01:02:03,456 WARN  [org.keycloak.events] (executor-thread-1) type="CLIENT_LOGIN_ERROR", realmId="r1", realmName="acme", ` +
      `clientId="svc-x", userId="null", sessionId="sess-1", ipAddress="192.0.2.9", error="invalid_client_credentials", grant_type="client_credentials", ` +
      `client_auth_method="client-secret", reason="header was Bearer ${ASSERTION}", custom_detail="${CLIENT_SECRET}", client_secret="${CLIENT_SECRET}"`;
    const [result] = oks(line);
    const text = (result as Ok).raw as string;
    expect(JSON.parse(text)).toEqual({
      type: 'CLIENT_LOGIN_ERROR',
      realmId: 'r1',
      realmName: 'acme',
      clientId: 'svc-x',
      userId: null,
      ipAddress: '192.0.2.9',
      error: 'invalid_client_credentials',
      details: { grant_type: 'client_credentials', client_auth_method: 'client-secret', reason: `header was Bearer ${REDACTED}` },
    });
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toContain('sess-1');
  });

  it('keycloak JSON log records: the parsed message plus logger context, not the message text', () => {
    const [record] = read('keycloak', 'quarkus-json.jsonl').split('\n');
    const raw = rawOf(oks(record as string)[0] as Ok);
    expect(raw).toMatchObject({
      type: 'CLIENT_LOGIN',
      clientId: 'svc-json',
      details: { grant_type: 'client_credentials', client_auth_method: 'client-jwt', scope: 'orders.read' },
      log: { timestamp: '2026-11-28T01:02:12.345+01:00', level: 'DEBUG', loggerName: 'org.keycloak.events', hostName: 'kc-0' },
    });
    expect(raw).not.toHaveProperty('message');
    expect(raw).not.toHaveProperty('processName');
  });
});
