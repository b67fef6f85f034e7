import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { oidcProviderFormat } from '@tokenwatch/ingest/formats/oidc-provider';
import { canonicalFormat } from '@tokenwatch/ingest/formats/canonical';
import { keycloakFormat } from '@tokenwatch/ingest/formats/keycloak';
import { stableEventId } from '@tokenwatch/ingest/formats/event-id';
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { at, onlyEvent, onlyReason, validated as valid } from '../../helpers/formats.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/formats/oidc-provider/${name}`, import.meta.url), 'utf8');
const fixtureJson = (name: string): Record<string, unknown> => JSON.parse(fixture(name)) as Record<string, unknown>;

const SUCCESS = fixtureJson('grant-success.json');
const REPLAY = fixtureJson('grant-error-replay.json');
const BAD_SECRET = fixtureJson('grant-error-bad-secret.json');
const MIXED = fixture('events.jsonl')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('oidc-provider: grant events', () => {
  it('maps grant.success with every documented field', () => {
    const event = onlyEvent(oidcProviderFormat.adapt(SUCCESS));
    expect(event).toEqual({
      event_id: stableEventId('oidc-provider', SUCCESS),
      time: '2026-11-28T01:02:03.456Z',
      idp: 'oidc-provider',
      tenant: 'https://auth.example.com',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      outcome: 'success',
      source_ip: '203.0.113.24',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders.read', 'orders.write'],
      audience: 'https://api.example.com/orders',
      assertion: {
        jti: '0f9b8c1e-2d3a-4b5c-8d7e-6f5a4b3c2d1e',
        iat: 1795827720,
        exp: 1795827780,
        iss: 'svc-orders',
        sub: 'svc-orders',
        aud: 'https://auth.example.com/token',
        kid: 'orders-2026-11',
        alg: 'PS256',
      },
    });
    expect(valid(event).time).toBe(Date.UTC(2026, 10, 28, 1, 2, 3, 456));
  });

  it('reports a replayed assertion from the error detail, with its jti', () => {
    const event = valid(onlyEvent(oidcProviderFormat.adapt(REPLAY)));
    expect(event).toMatchObject({
      outcome: 'failure',
      error_code: 'invalid_client',
      replay_reported: true,
      source_ip: '198.51.100.200',
      time: 1795827724001,
      assertion: { jti: '0f9b8c1e-2d3a-4b5c-8d7e-6f5a4b3c2d1e', aud: ['https://auth.example.com', 'https://auth.example.com/token'] },
    });
  });

  it('maps another client authentication failure without a replay flag, keeping the supplied event id', () => {
    const event = valid(onlyEvent(oidcProviderFormat.adapt(BAD_SECRET)));
    expect(event).toMatchObject({
      event_id: '2b1f6a0c-9a3e-4d0b-8f3c-1d2e3f4a5b6c',
      outcome: 'failure',
      error_code: 'invalid_client',
      auth_method: 'client_secret_basic',
      source_ip: '2001:db8::99',
      time: Date.UTC(2026, 10, 28, 0, 2, 5),
    });
    expect(event).not.toHaveProperty('replay_reported');
  });

  it('skips end-user grants, but still reports an assertion replay on one (the older jwt-bearer message)', () => {
    expect(onlyReason(oidcProviderFormat.adapt(at(MIXED, 0)), 'skip')).toBe(
      "oidc-provider: grant_type authorization_code is not a machine client's token request",
    );
    const replay = valid(onlyEvent(oidcProviderFormat.adapt(at(MIXED, 1))));
    expect(replay).toMatchObject({ grant_type: 'refresh_token', replay_reported: true, error_code: 'invalid_request', assertion: { jti: '1a2b3c4d-0000-4000-8000-00000000aaaa' } });
  });

  it('skips events other than grant.success and grant.error', () => {
    expect(onlyReason(oidcProviderFormat.adapt(at(MIXED, 2)), 'skip')).toBe('oidc-provider: event server_error is not a token request');
  });

  it('skips an event named like an Object.prototype member instead of mapping it', () => {
    expect(onlyReason(oidcProviderFormat.adapt({ ...SUCCESS, event: 'constructor' }), 'skip')).toBe('oidc-provider: event constructor is not a token request');
  });

  it('maps an auth method with no canonical name to unknown and reports it', () => {
    const [result] = oidcProviderFormat.adapt(at(MIXED, 3));
    expect(result).toMatchObject({ kind: 'ok', event: { auth_method: 'unknown', time: 1795827783000 }, unknownAuthMethod: 'attest_jwt_client_auth' });
    if (result?.kind === 'ok') valid(result.event);
  });

  it.each(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none'])(
    'keeps the registered auth method %s',
    (method) => {
      expect(onlyEvent(oidcProviderFormat.adapt({ ...SUCCESS, client_auth_method: method })).auth_method).toBe(method);
    },
  );

  it('joins several RFC 8707 resources into one audience', () => {
    const event = onlyEvent(oidcProviderFormat.adapt({ ...SUCCESS, resource: ['https://a.example', 'https://b.example'] }));
    expect(event.audience).toBe('https://a.example https://b.example');
  });

  it('derives a stable id from the record when the application supplies none', () => {
    const first = onlyEvent(oidcProviderFormat.adapt(SUCCESS)).event_id;
    expect(onlyEvent(oidcProviderFormat.adapt(structuredClone(SUCCESS))).event_id).toBe(first);
    expect(onlyEvent(oidcProviderFormat.adapt({ ...SUCCESS, time: '2026-11-28T01:02:03.457Z' })).event_id).not.toBe(first);
    expect(first).toMatch(/^oidc-provider:[0-9a-f]{32}$/);
  });

  it.each([
    ['issuer missing', { issuer: undefined }, 'oidc-provider: issuer is missing'],
    ['client_id missing', { client_id: '' }, 'oidc-provider: client_id is missing'],
    ['grant_type missing', { grant_type: undefined }, 'oidc-provider: grant_type is missing'],
    ['ip missing', { ip: null }, 'oidc-provider: ip is missing'],
    ['ip not a string', { ip: ['203.0.113.1'] }, 'oidc-provider: ip is not a string'],
    ['time missing', { time: undefined }, 'oidc-provider: time is missing or neither an RFC 3339 string nor epoch milliseconds'],
    ['time fractional', { time: 1795827723.5 }, 'oidc-provider: time is missing or neither an RFC 3339 string nor epoch milliseconds'],
    ['assertion not an object', { assertion: 'eyJ...' }, 'oidc-provider: assertion is not an object'],
    ['assertion.exp a string', { assertion: { exp: '1795827780' } }, 'oidc-provider: assertion.exp is not a NumericDate'],
    ['assertion.aud a number', { assertion: { aud: 7 } }, 'oidc-provider: assertion.aud is neither a string nor an array of strings'],
    ['resource an object', { resource: { uri: 'x' } }, 'oidc-provider: resource is neither a string nor an array of strings'],
  ])('dead-letters a record with %s, naming the field', (_name, change, reason) => {
    expect(onlyReason(oidcProviderFormat.adapt({ ...SUCCESS, ...change }), 'dlq')).toBe(reason);
  });

  it('leaves an invalid IP or time string to the schema, which names the field', () => {
    const badIp = tokenRequestSchema.safeParse(onlyEvent(oidcProviderFormat.adapt({ ...SUCCESS, ip: '::ffff:999.0.0.1' })));
    expect(badIp.error?.issues[0]?.path).toEqual(['source_ip']);
    const badTime = tokenRequestSchema.safeParse(onlyEvent(oidcProviderFormat.adapt({ ...SUCCESS, time: '28/Nov/2026:01:02:03' })));
    expect(badTime.error?.issues[0]?.path).toEqual(['time']);
  });

  it('claims only records marked as oidc-provider', () => {
    expect(oidcProviderFormat.matches(SUCCESS)).toBe(true);
    expect(oidcProviderFormat.matches({ ...SUCCESS, source: 'hydra' })).toBe(false);
    expect(oidcProviderFormat.matches({ event_id: 'e', idp: 'oidc-provider', source_ip: '192.0.2.1' })).toBe(false);
    expect(keycloakFormat.matches(SUCCESS)).toBe(false);
  });

  it('goes through the decoder: detected among other formats and validated', () => {
    const results = decodeMessage(JSON.stringify([SUCCESS, REPLAY, at(MIXED, 2)]), {
      adapters: [canonicalFormat, keycloakFormat, oidcProviderFormat],
      format: 'auto',
    });
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'skip']);
    expect(results[1]).toMatchObject({ kind: 'ok', event: { idp: 'oidc-provider', replay_reported: true } });
  });
});

describe('oidc-provider: secrets never reach the event', () => {
  const SECRET = 'hunter2-very-secret-value';
  const ASSERTION =
    'eyJhbGciOiJQUzI1NiIsImtpZCI6Im9yZGVycy0yMDI2LTExIn0.eyJpc3MiOiJzdmMtb3JkZXJzIiwic3ViIjoic3ZjLW9yZGVycyIsImp0aSI6IjBmOWIifQ.c2lnbmF0dXJlLWJ5dGVz';
  const BASIC = 'Basic c3ZjLW9yZGVyczpodW50ZXIyLXZlcnktc2VjcmV0LXZhbHVl';

  it('picks only documented fields from a record an application stuffed with secrets', () => {
    const record = {
      ...SUCCESS,
      client_secret: SECRET,
      client_assertion: ASSERTION,
      headers: { authorization: BASIC, 'user-agent': 'curl/8' },
      params: { client_secret: SECRET, client_assertion: ASSERTION, grant_type: 'client_credentials' },
      assertion: { ...(SUCCESS.assertion as Record<string, unknown>), signature: 'c2lnbmF0dXJlLWJ5dGVz', raw: ASSERTION, secret: SECRET },
      access_token: ASSERTION,
    };
    // The adapter's own candidate is checked, not only the schema's output (zod drops unknown keys).
    const candidate = onlyEvent(oidcProviderFormat.adapt(record));
    const json = JSON.stringify(candidate);
    for (const secret of [SECRET, ASSERTION, BASIC, 'c2lnbmF0dXJlLWJ5dGVz']) expect(json).not.toContain(secret);
    expect(candidate.assertion).toEqual(SUCCESS.assertion);
    expect(valid(candidate).client_id).toBe('svc-orders');
  });
});
