import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auth0Format } from '@tokenwatch/ingest/formats/auth0';
import { oktaFormat } from '@tokenwatch/ingest/formats/okta';
import { canonicalFormat } from '@tokenwatch/ingest/formats/canonical';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { canonicalEvent } from '../../helpers/events.js';
import { adapterHelpers, validated } from '../../helpers/formats.js';

type Json = Record<string, unknown>;

const read = (name: string): string => readFileSync(new URL(`../../fixtures/formats/auth0/${name}`, import.meta.url), 'utf8');
const load = (name: string): Json => JSON.parse(read(name)) as Json;
const loadOkta = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/okta/${name}`, import.meta.url), 'utf8')) as Json;

/** A deep copy of a fixture, changed by `edit`: variants stay next to the test that needs them. */
function variant(name: string, edit: (record: Json) => void): Json {
  const record = load(name);
  edit(record);
  return record;
}

const { single, adaptOne } = adapterHelpers(auth0Format);

function reasonOf(record: Json, kind: 'dlq' | 'skip'): string {
  const result = single(record);
  if (result.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(result)}`);
  return result.reason;
}

const decode = (input: string) => decodeMessage(input, { adapters: [canonicalFormat, oktaFormat, auth0Format], format: 'auto' });

const TOKEN_FIXTURES = [
  'seccft-success.json',
  'feccft-unauthorized.json',
  'feccft-no-client-grant.json',
  'seccft-ipv6-scope-array.json',
  'seccft-minimal.json',
  'stream-record.json',
  'eventbridge.json',
  'secrets-in-details.json',
];

describe('auth0: matches', () => {
  it('recognises log events, log stream records and EventBridge events', () => {
    for (const name of [...TOKEN_FIXTURES, 'login-success.json', 'malformed-no-ip.json', 'malformed-date-number.json']) {
      expect(auth0Format.matches(load(name)), name).toBe(true);
    }
    const batch = JSON.parse(read('webhook-batch.json')) as Json[];
    for (const record of batch) expect(auth0Format.matches(record)).toBe(true);
  });

  it('does not claim Okta events or canonical events', () => {
    for (const name of ['cc-success-custom-as.json', 'user-session-start.json', 'malformed-no-ip.json']) {
      expect(auth0Format.matches(loadOkta(name)), name).toBe(false);
    }
    expect(auth0Format.matches(canonicalEvent(2) as Json)).toBe(false);
  });

  it('is not claimed by the Okta or canonical adapters', () => {
    for (const name of TOKEN_FIXTURES) {
      expect(oktaFormat.matches(load(name)), name).toBe(false);
      expect(canonicalFormat.matches(load(name)), name).toBe(false);
    }
  });

  it('does not take any object with a data or detail key for a stream record', () => {
    expect(auth0Format.matches({ data: { type: 'seccft' } })).toBe(false);
    expect(auth0Format.matches({ log_id: '1', data: 'x' })).toBe(false);
    expect(auth0Format.matches({ detail: { eventName: 'Token_POST' } })).toBe(false);
    expect(auth0Format.matches({ type: 'seccft' })).toBe(false);
  });
});

describe('auth0: client credentials exchanges', () => {
  it('maps a successful exchange field by field; auth_method is unknown and not counted', () => {
    const result = adaptOne(load('seccft-success.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toEqual({
      event_id: '90020260414083107512000000000000000000000000000000000001',
      time: '2026-04-14T08:31:07.512Z',
      idp: 'auth0',
      tenant: 'acme-prod',
      client_id: 'Xk2mQ9vR4tY7uI0oP3aS6dF8gH1jK5lZ',
      client_name: 'orders-sync',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '203.0.113.42',
      user_agent: 'okhttp 4.12.0 / Other 0.0.0',
      scopes: ['read:orders', 'write:orders'],
      audience: 'https://api.acme.example/orders',
      geo: { country: 'US', city: 'Ashburn' },
    });
    expect(validated(result.event).time).toBe(Date.UTC(2026, 3, 14, 8, 31, 7, 512));
  });

  it('maps a failed exchange with its short description as the error code', () => {
    const result = adaptOne(load('feccft-unauthorized.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    const event = validated(result.event);
    expect(event).toMatchObject({ outcome: 'failure', error_code: 'Unauthorized', source_ip: '198.51.100.77', scopes: [] });
    expect(event.geo).toBeUndefined();
  });

  it('clips a long failure description to the error code bound when details.error is absent', () => {
    const event = validated(adaptOne(load('feccft-no-client-grant.json')).event);
    expect(event.error_code).toHaveLength(128);
    expect(event.error_code?.startsWith('Client is not authorized to access "https://api.acme.example/billing".')).toBe(true);
  });

  it('prefers details.error over a long description', () => {
    const record = variant('feccft-no-client-grant.json', (log) => {
      log.details = { error: 'access_denied' };
    });
    expect(adaptOne(record).event.error_code).toBe('access_denied');
  });

  it('gives no error code to a success', () => {
    const record = variant('seccft-success.json', (log) => {
      log.description = 'Client Credentials for Access Token';
    });
    expect(adaptOne(record).event).not.toHaveProperty('error_code');
  });

  it('maps an IPv6 client and a scope array', () => {
    const event = validated(adaptOne(load('seccft-ipv6-scope-array.json')).event);
    expect(event.source_ip).toBe('2001:db8:85a3::8a2e:370:7334');
    expect(event.scopes).toEqual(['read:inventory', 'write:inventory']);
  });

  it('leaves out what Auth0 did not log; _id and hostname stand in for log_id and tenant_name', () => {
    const result = adaptOne(load('seccft-minimal.json'));
    expect(result.event).toEqual({
      event_id: '90020260414100000000000000000000000000000000000000000005',
      time: '2026-04-14T10:00:00.000Z',
      idp: 'auth0',
      tenant: 'login.acme.example',
      client_id: 'Mn7bV4cX1zL8kJ5hG2fD9sA6pO3iU0yT',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '192.0.2.15',
      scopes: [],
    });
    validated(result.event);
  });

  it('takes the mTLS certificate thumbprint as the credential id', () => {
    const record = variant('seccft-success.json', (log) => {
      log.mtls_thumbprint_sha256 = 'A4tYx3bq0mKj9oQk2nW8vE5rT1uI7pL6sD0fG3hJ2kM';
    });
    const result = adaptOne(record);
    expect(validated(result.event).credential_id).toBe('A4tYx3bq0mKj9oQk2nW8vE5rT1uI7pL6sD0fG3hJ2kM');
    expect(result.event.auth_method).toBe('unknown');
  });

  it('falls back to details.scope when the top-level scope is absent', () => {
    const record = variant('seccft-success.json', (log) => {
      delete log.scope;
      log.details = { scope: 'read:orders' };
    });
    expect(adaptOne(record).event.scopes).toEqual(['read:orders']);
  });

  it('keeps only a well-formed location_info country code', () => {
    const geoOf = (locationInfo: unknown) =>
      adaptOne(
        variant('seccft-success.json', (log) => {
          log.location_info = locationInfo;
        }),
      ).event.geo;
    expect(geoOf({ country_code: 'de', city_name: 'Berlin' })).toEqual({ country: 'DE', city: 'Berlin' });
    expect(geoOf({ country_code: 'DEU', city_name: 'Berlin' })).toEqual({ city: 'Berlin' });
    expect(geoOf({})).toBeUndefined();
    expect(geoOf('US')).toBeUndefined();
  });
});

describe('auth0: log streams', () => {
  it('adapts a log stream record, taking the log id from the envelope when the event has none', () => {
    const event = validated(adaptOne(load('stream-record.json')).event);
    expect(event).toMatchObject({
      event_id: '90020260414103000000000000000000000000000000000000000006',
      client_id: 'Xk2mQ9vR4tY7uI0oP3aS6dF8gH1jK5lZ',
      outcome: 'success',
      scopes: ['read:orders'],
    });
  });

  it("prefers the event's own log id to the envelope's", () => {
    const record = variant('stream-record.json', (envelope) => {
      (envelope.data as Json).log_id = '90020260414103000000000000000000000000000000000000099999';
    });
    expect(adaptOne(record).event.event_id).toBe('90020260414103000000000000000000000000000000000000099999');
  });

  it('adapts an EventBridge event', () => {
    const event = validated(adaptOne(load('eventbridge.json')).event);
    expect(event).toMatchObject({
      event_id: '90020260414120000000000000000000000000000000000000000010',
      client_id: 'Pq8wE3rT6yU1iO4pA7sD0fG2hJ5kL9zX',
      outcome: 'failure',
      error_code: 'Unauthorized',
      source_ip: '2001:db8::25',
    });
  });

  it('splits a webhook batch through the dispatcher: exchanges become events, the login is skipped', () => {
    const results = decode(read('webhook-batch.json'));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'skip']);
    expect(results[2]).toEqual({ kind: 'skip', reason: 'auth0: log type s is not a client credentials exchange' });
    const [success, failure] = results;
    if (success?.kind !== 'ok' || failure?.kind !== 'ok') throw new Error('expected two events');
    expect(success.event).toMatchObject({ idp: 'auth0', outcome: 'success', time: Date.UTC(2026, 3, 14, 11, 0, 0) });
    expect(failure.event).toMatchObject({ idp: 'auth0', outcome: 'failure', error_code: 'Unauthorized' });
  });

  it('dead-letters a stream record whose data is not an object, naming the path', () => {
    expect(reasonOf(load('malformed-stream-data.json'), 'dlq')).toBe('auth0: data is missing or not an object');
    expect(reasonOf({ detail: { log_id: '1', data: null } }, 'dlq')).toBe('auth0: detail.data is missing or not an object');
  });

  it('names the path inside the envelope when the event is malformed', () => {
    const record = variant('eventbridge.json', (event) => {
      delete ((event.detail as Json).data as Json).ip;
    });
    expect(reasonOf(record, 'dlq')).toBe('auth0: detail.data.ip is missing');
  });
});

describe('auth0: other log types are skipped', () => {
  it('skips a user login with a reason naming the type', () => {
    expect(reasonOf(load('login-success.json'), 'skip')).toBe('auth0: log type s is not a client credentials exchange');
  });

  it.each(['seacft', 'feacft', 'sercft', 'fercft', 'sapi', 'fsa'])('skips %s', (type) => {
    expect(reasonOf({ ...load('seccft-success.json'), type }, 'skip')).toBe(`auth0: log type ${type} is not a client credentials exchange`);
  });
});

describe('auth0: malformed exchanges are dead-lettered', () => {
  it('rejects an exchange without an ip', () => {
    expect(reasonOf(load('malformed-no-ip.json'), 'dlq')).toBe('auth0: ip is missing');
  });

  it('rejects a date that is not a string', () => {
    expect(reasonOf(load('malformed-date-number.json'), 'dlq')).toBe('auth0: date is missing or not a string');
  });

  it('rejects a failure whose client_id is null rather than inventing one', () => {
    const record = variant('feccft-unauthorized.json', (log) => {
      log.client_id = null;
    });
    expect(reasonOf(record, 'dlq')).toBe('auth0: client_id is missing');
  });

  it('rejects an exchange with neither tenant_name nor hostname, or without any log id', () => {
    const noTenant = variant('seccft-success.json', (log) => {
      delete log.tenant_name;
      log.hostname = '';
    });
    expect(reasonOf(noTenant, 'dlq')).toBe('auth0: tenant_name and hostname are missing');
    const noId = variant('seccft-success.json', (log) => {
      delete log.log_id;
    });
    expect(reasonOf(noId, 'dlq')).toBe('auth0: log_id is missing');
  });

  it('never throws, whatever it is given when the format is forced', () => {
    for (const record of [{}, { type: 7 }, { detail: 'x' }, { data: [] }, { type: 'seccft', details: 'x', location_info: [] }]) {
      const results = auth0Format.adapt(record as Json);
      expect(results).toHaveLength(1);
      expect(results[0]?.kind).toBe('dlq');
      expect((results[0] as { reason: string }).reason).toMatch(/^auth0: /);
    }
  });
});

describe('auth0: secrets', () => {
  const SECRETS = [
    'auth0-SECRET-h4Jk8Lm2Np6Qr0St3Uv7Wx',
    'Basic WGsybVE5dlI0dFk3dUkwb1AzYVM2ZEY4Z0gxaks1bFo6YXV0aDAtU0VDUkVULUFVVEhIRUFERVI=',
    'WGsybVE5dlI0dFk3dUkwb1AzYVM2ZEY4Z0gxaks1bFo6YXV0aDAtU0VDUkVULUFVVEhIRUFERVI',
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImF1dGgwLXNlY3JldC1raWQifQ',
    'YXV0aDAtc2VjcmV0LXNpZ25hdHVyZQ',
  ];

  it('the fixture does carry the secrets (so the next test means something)', () => {
    const raw = read('secrets-in-details.json');
    for (const secret of SECRETS) expect(raw).toContain(secret);
  });

  it('copies none of the secrets in details into the event, nor into what storage receives', () => {
    const result = adaptOne(load('secrets-in-details.json'));
    expect(validated(result.event)).toMatchObject({ outcome: 'failure', error_code: 'Unauthorized' });
    const [decoded] = decode(read('secrets-in-details.json'));
    expect(decoded?.kind).toBe('ok');
    for (const output of [JSON.stringify(result), JSON.stringify(decoded)]) {
      for (const secret of SECRETS) expect(output).not.toContain(secret);
      expect(output).not.toMatch(/client_secret|client_assertion|authorization/i);
    }
  });
});

describe('auth0: every token fixture passes the TokenRequest schema', () => {
  it.each(TOKEN_FIXTURES)('%s', (name) => {
    const [result] = decode(read(name));
    expect(result?.kind).toBe('ok');
  });
});
