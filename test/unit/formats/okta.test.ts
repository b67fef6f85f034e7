import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { oktaFormat } from '@tokenwatch/ingest/formats/okta';
import { auth0Format } from '@tokenwatch/ingest/formats/auth0';
import { canonicalFormat } from '@tokenwatch/ingest/formats/canonical';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { canonicalEvent } from '../../helpers/events.js';
import { adapterHelpers, eventOf, validated } from '../../helpers/formats.js';

type Json = Record<string, unknown>;

const read = (name: string): string => readFileSync(new URL(`../../fixtures/formats/okta/${name}`, import.meta.url), 'utf8');
const load = (name: string): Json => JSON.parse(read(name)) as Json;
const loadAuth0 = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/formats/auth0/${name}`, import.meta.url), 'utf8')) as Json;

interface OktaEvent extends Json {
  actor: Json;
  client: Json & { userAgent: Json; geographicalContext: Json };
  outcome: Json;
  debugContext: { debugData: Json };
  securityContext: Json;
  request: { ipChain: Json[] };
}

/** A deep copy of a fixture, changed by `edit`: variants stay next to the test that needs them. */
function variant(name: string, edit: (record: OktaEvent) => void): Json {
  const record = load(name) as OktaEvent;
  edit(record);
  return record;
}

const { single, adaptOne } = adapterHelpers(oktaFormat);

function reasonOf(record: Json, kind: 'dlq' | 'skip'): string {
  const result = single(record);
  if (result.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(result)}`);
  return result.reason;
}

const decode = (input: string) => decodeMessage(input, { adapters: [canonicalFormat, oktaFormat, auth0Format], format: 'auto' });

const TOKEN_FIXTURES = [
  'cc-success-custom-as.json',
  'cc-failure-invalid-client.json',
  'cc-success-org-as-ipv6.json',
  'cc-minimal.json',
  'secrets-in-debugdata.json',
];

describe('okta: matches', () => {
  it('recognises every System Log event, token request or not, malformed or not', () => {
    for (const name of [...TOKEN_FIXTURES, 'user-session-start.json', 'malformed-no-ip.json', 'malformed-published-number.json']) {
      expect(oktaFormat.matches(load(name)), name).toBe(true);
    }
  });

  it('does not claim Auth0 records, their envelopes, or canonical events', () => {
    for (const name of ['seccft-success.json', 'stream-record.json', 'eventbridge.json', 'login-success.json']) {
      expect(oktaFormat.matches(loadAuth0(name)), name).toBe(false);
    }
    expect(oktaFormat.matches(canonicalEvent(1) as Json)).toBe(false);
  });

  it('is not claimed by the Auth0 or canonical adapters', () => {
    for (const name of TOKEN_FIXTURES) {
      expect(auth0Format.matches(load(name)), name).toBe(false);
      expect(canonicalFormat.matches(load(name)), name).toBe(false);
    }
  });

  it('wants the event type, uuid and published that every LogEvent has', () => {
    const { uuid: _uuid, ...withoutUuid } = load('cc-success-custom-as.json');
    expect(oktaFormat.matches(withoutUuid)).toBe(false);
    const { published: _published, ...withoutPublished } = load('cc-success-custom-as.json');
    expect(oktaFormat.matches(withoutPublished)).toBe(false);
    expect(oktaFormat.matches({ ...load('cc-success-custom-as.json'), eventType: 42 })).toBe(false);
  });
});

describe('okta: client token requests', () => {
  it('maps a client credentials grant of a custom authorization server field by field', () => {
    const result = adaptOne(load('cc-success-custom-as.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toEqual({
      event_id: '5f7e2c1a-3b4d-11f1-9a2b-0d4e6f8a1c3e',
      time: '2026-04-14T08:31:07.512Z',
      idp: 'okta',
      tenant: 'aus5x9q2w7EfGhJkL0d7',
      client_id: '0oa8f2k4m1QbXyZ9d5d7',
      client_name: 'orders-sync',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      outcome: 'success',
      source_ip: '203.0.113.42',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders:read', 'orders:write'],
      geo: { country: 'US', city: 'Ashburn', asn: 14618, as_org: 'amazon.com inc.' },
    });
    expect(validated(result.event).time).toBe(Date.UTC(2026, 3, 14, 8, 31, 7, 512));
  });

  it('maps a failed grant: outcome.reason as the error, requested scopes when none were granted', () => {
    const result = adaptOne(load('cc-failure-invalid-client.json'));
    const event = validated(result.event);
    expect(event).toMatchObject({
      event_id: '8c2d4e6f-3b4d-11f1-9a2b-0d4e6f8a1c3e',
      client_id: '0oa3h7j9n2RcWvUt4e5f',
      client_name: 'billing-export',
      auth_method: 'client_secret_post',
      outcome: 'failure',
      error_code: 'invalid_client',
      source_ip: '198.51.100.77',
      scopes: ['billing:export'],
      geo: { country: 'NL', city: 'Amsterdam', asn: 64496, as_org: 'example transit b.v.' },
    });
  });

  it('maps an org authorization server grant from an IPv6 client; no authorization server id means tenant "default"', () => {
    const result = adaptOne(load('cc-success-org-as-ipv6.json'));
    const event = validated(result.event);
    expect(event.tenant).toBe('default');
    expect(event.source_ip).toBe('2001:db8:85a3::8a2e:370:7334');
    expect(event.auth_method).toBe('client_secret_basic');
    // Comma-separated scopes ("a, b"), as Okta logs them.
    expect(event.scopes).toEqual(['okta.users.read', 'okta.groups.read']);
    expect(event.geo).toEqual({ country: 'DE', city: 'Frankfurt am Main', asn: 64500, as_org: 'example hosting gmbh' });
    // alternateId "unknown" is Okta's placeholder, never a name; displayName is used here.
    expect(event.client_name).toBe('inventory-worker');
  });

  it('leaves out what Okta did not log, takes the IP from request.ipChain, and does not count a missing auth type', () => {
    const result = adaptOne(load('cc-minimal.json'));
    expect(result.unknownAuthMethod).toBeUndefined();
    expect(result.event).toEqual({
      event_id: 'b7d9f1a3-3b60-11f1-9a2b-0d4e6f8a1c3e',
      time: '2026-04-14T10:00:00.000Z',
      idp: 'okta',
      tenant: 'default',
      client_id: '0oa9z8x7c6V5b4N3m2l1',
      grant_type: 'client_credentials',
      auth_method: 'unknown',
      outcome: 'success',
      source_ip: '192.0.2.15',
      scopes: [],
    });
    validated(result.event);
  });

  it('prefers client.ipAddress over request.ipChain', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.request.ipChain = [{ ip: '192.0.2.200' }];
    });
    expect(adaptOne(record).event.source_ip).toBe('203.0.113.42');
  });

  it('keeps the grant type Okta logged, whatever it is', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.debugContext.debugData.grantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    });
    expect(validated(adaptOne(record).event).grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  });

  it('uses client.id, and no client name, when the actor is not the client', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.actor = { id: '00u1a2b3c4D5e6F7g8h9', type: 'User', alternateId: 'jane.doe@example.com', displayName: 'Jane Doe' };
      event.client.id = '0oaAbCdEfGhIjKlMn0p1';
      event.debugContext.debugData.grantType = 'authorization_code';
    });
    const event = validated(adaptOne(record).event);
    expect(event.client_id).toBe('0oaAbCdEfGhIjKlMn0p1');
    expect(event.client_name).toBeUndefined();
    expect(event.grant_type).toBe('authorization_code');
  });

  it('falls back to actor.alternateId for the client name', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      delete event.actor.displayName;
      event.actor.alternateId = 'orders-sync-client';
    });
    expect(adaptOne(record).event.client_name).toBe('orders-sync-client');
  });

  it.each([
    ['client_secret_basic', 'client_secret_basic'],
    ['client_secret_post', 'client_secret_post'],
    ['client_secret_jwt', 'client_secret_jwt'],
    ['private_key_jwt', 'private_key_jwt'],
    ['PRIVATE_KEY_JWT', 'private_key_jwt'],
    ['tls_client_auth', 'tls_client_auth'],
    ['self_signed_tls_client_auth', 'self_signed_tls_client_auth'],
    ['none', 'none'],
  ])('maps clientAuthType %s to %s', (value, expected) => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.debugContext.debugData.clientAuthType = value;
    });
    const result = adaptOne(record);
    expect(result.event.auth_method).toBe(expected);
    expect(result.unknownAuthMethod).toBeUndefined();
  });

  it('records an unrecognised clientAuthType as unknown and reports it to be counted', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.debugContext.debugData.clientAuthType = 'attest_jwt_client_auth';
    });
    const result = adaptOne(record);
    expect(result.event.auth_method).toBe('unknown');
    expect(result.unknownAuthMethod).toBe('attest_jwt_client_auth');
    validated(result.event);
  });

  it('takes the outcome from outcome.result, not from the event type', () => {
    const failed = variant('cc-success-custom-as.json', (event) => {
      event.outcome = { result: 'FAILURE', reason: 'policy_denied' };
    });
    expect(adaptOne(failed).event).toMatchObject({ outcome: 'failure', error_code: 'policy_denied' });
    const unknown = variant('cc-success-custom-as.json', (event) => {
      event.outcome = { result: 'UNKNOWN' };
    });
    expect(adaptOne(unknown).event.outcome).toBe('failure');
  });

  it('gives no error code to a success, even when Okta logs a reason', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.outcome = { result: 'SUCCESS', reason: 'cached' };
    });
    expect(adaptOne(record).event).not.toHaveProperty('error_code');
  });

  it('falls back to the event type when the outcome is missing', () => {
    const success = variant('cc-success-custom-as.json', (event) => {
      delete (event as Json).outcome;
    });
    expect(adaptOne(success).event.outcome).toBe('success');
    const failure = variant('cc-failure-invalid-client.json', (event) => {
      delete (event as Json).outcome;
    });
    expect(adaptOne(failure).event.outcome).toBe('failure');
  });

  it('converts country names to ISO 3166 alpha-2, including names the package lacks, and omits what it cannot convert', () => {
    const countryOf = (country: unknown) =>
      validated(
        adaptOne(
          variant('cc-success-custom-as.json', (event) => {
            event.client.geographicalContext.country = country;
          }),
        ).event,
      ).geo?.country;
    expect(countryOf('United States')).toBe('US');
    expect(countryOf('South Korea')).toBe('KR');
    expect(countryOf('Czechia')).toBe('CZ');
    expect(countryOf('Réunion')).toBe('RE');
    expect(countryOf('Syria')).toBe('SY');
    expect(countryOf('GB')).toBe('GB');
    expect(countryOf('Atlantis')).toBeUndefined();
    expect(countryOf('Unknown')).toBeUndefined();
    expect(countryOf(null)).toBeUndefined();
  });

  it('keeps an ASN given as a numeric string, and drops ASN 0 and non-numbers', () => {
    const asnOf = (asNumber: unknown) =>
      adaptOne(
        variant('cc-success-custom-as.json', (event) => {
          event.securityContext.asNumber = asNumber;
        }),
      ).event.geo as Json;
    expect(asnOf('64501').asn).toBe(64501);
    expect(asnOf(0)).not.toHaveProperty('asn');
    expect(asnOf('AS64501')).not.toHaveProperty('asn');
  });

  it('clips an over-long user agent to the schema bound instead of losing the event', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.client.userAgent.rawUserAgent = `curl/8.5.0 ${'x'.repeat(2000)}`;
    });
    const event = validated(adaptOne(record).event);
    expect(event.user_agent).toHaveLength(1024);
    expect(event.user_agent?.startsWith('curl/8.5.0 ')).toBe(true);
  });
});

describe('okta: other events are skipped', () => {
  it('skips a user sign-in with a reason naming the event type', () => {
    expect(reasonOf(load('user-session-start.json'), 'skip')).toBe('okta: event type user.session.start is not a client token request');
  });

  it.each(['app.oauth2.as.token.grant.refresh_token', 'app.oauth2.as.token.grant.id_token', 'app.oauth2.as.authorize.code'])(
    'skips %s',
    (eventType) => {
      const record = { ...load('cc-success-custom-as.json'), eventType };
      expect(reasonOf(record, 'skip')).toBe(`okta: event type ${eventType} is not a client token request`);
    },
  );
});

describe('okta: malformed token events are dead-lettered', () => {
  it('names both IP fields when the event has neither', () => {
    expect(reasonOf(load('malformed-no-ip.json'), 'dlq')).toBe('okta: client.ipAddress and request.ipChain[0].ip are missing');
  });

  it('rejects a published time that is not a string', () => {
    expect(reasonOf(load('malformed-published-number.json'), 'dlq')).toBe('okta: published is missing or not a string');
  });

  it('rejects an event without a grant type rather than guessing one', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      delete event.debugContext.debugData.grantType;
    });
    expect(reasonOf(record, 'dlq')).toBe('okta: debugContext.debugData.grantType is missing');
  });

  it('rejects an event without any client id', () => {
    const record = variant('cc-success-custom-as.json', (event) => {
      event.actor = { id: '00u1a2b3c4D5e6F7g8h9', type: 'User' };
      event.client.id = null;
    });
    expect(reasonOf(record, 'dlq')).toBe('okta: actor.id (actor.type PublicClientApp) and client.id are missing');
  });

  it('rejects an event without a uuid, or with an outcome.result that is not a string', () => {
    const { uuid: _uuid, ...withoutUuid } = load('cc-success-custom-as.json');
    expect(reasonOf(withoutUuid, 'dlq')).toBe('okta: uuid is missing');
    const record = variant('cc-success-custom-as.json', (event) => {
      event.outcome = { result: 1 };
    });
    expect(reasonOf(record, 'dlq')).toBe('okta: outcome.result is not a string');
  });

  it('never throws, whatever it is given when the format is forced', () => {
    for (const record of [{}, { eventType: null }, { eventType: 'app.oauth2.as.token.grant', actor: 'x', client: [], debugContext: 7 }]) {
      const results = oktaFormat.adapt(record as Json);
      expect(results).toHaveLength(1);
      expect(results[0]?.kind).toBe('dlq');
      expect((results[0] as { reason: string }).reason).toMatch(/^okta: /);
    }
  });
});

describe('okta: secrets', () => {
  const SECRETS = [
    'okta-SECRET-q8Zt3VwXy5Rb1Nc7Md2Ke9',
    'Basic MG9hOGYyazRtMVFiWHlaOWQ1ZDc6b2t0YS1TRUNSRVQtQVVUSEhFQURFUg==',
    'MG9hOGYyazRtMVFiWHlaOWQ1ZDc6b2t0YS1TRUNSRVQtQVVUSEhFQURFUg',
    'eyJhbGciOiJSUzI1NiIsImtpZCI6Im9rdGEtc2VjcmV0LWtpZCJ9',
    'b2t0YS1zZWNyZXQtc2lnbmF0dXJl',
  ];

  it('the fixture does carry the secrets (so the next test means something)', () => {
    const raw = read('secrets-in-debugdata.json');
    for (const secret of SECRETS) expect(raw).toContain(secret);
  });

  it('copies none of the secrets in debugData into the event, nor into what storage receives', () => {
    const result = adaptOne(load('secrets-in-debugdata.json'));
    validated(result.event);
    expect(result.event.auth_method).toBe('client_secret_basic');
    const [decoded] = decode(read('secrets-in-debugdata.json'));
    expect(decoded?.kind).toBe('ok');
    const outputs = [JSON.stringify(result), JSON.stringify(decoded)];
    for (const output of outputs) for (const secret of SECRETS) expect(output).not.toContain(secret);
  });
});

describe('okta: through the dispatcher', () => {
  it('splits a System Log API page and detects every event as Okta', () => {
    const page = JSON.stringify([
      load('cc-success-custom-as.json'),
      load('user-session-start.json'),
      load('malformed-no-ip.json'),
      load('cc-success-org-as-ipv6.json'),
    ]);
    const results = decode(page);
    expect(results.map((result) => result.kind)).toEqual(['ok', 'skip', 'dlq', 'ok']);
    expect(results[2]).toEqual({ kind: 'dlq', reason: 'okta: client.ipAddress and request.ipChain[0].ip are missing' });
    const first = results[0];
    if (first?.kind !== 'ok') throw new Error('expected ok');
    expect(first.event).toMatchObject({ idp: 'okta', client_id: '0oa8f2k4m1QbXyZ9d5d7', time: Date.UTC(2026, 3, 14, 8, 31, 7, 512) });
  });

  it('validates every token fixture with the TokenRequest schema', () => {
    for (const name of TOKEN_FIXTURES) {
      const [result] = decode(read(name));
      expect(result?.kind, name).toBe('ok');
    }
  });

  it('dead-letters a published value the schema cannot read, naming the format', () => {
    const record = { ...load('cc-success-custom-as.json'), published: 'yesterday' };
    const [result] = decode(JSON.stringify(record));
    expect(result?.kind).toBe('dlq');
    expect((result as { reason: string }).reason).toMatch(/^okta: invalid TokenRequest: time: /);
  });
});

describe('okta: Event Hook deliveries', () => {
  const hook = () => load('event-hook.json') as Json & { data: { events: Json[] } };

  it('is recognised by the envelope, and by no other adapter', () => {
    expect(oktaFormat.matches(hook())).toBe(true);
    expect(auth0Format.matches(hook())).toBe(false);
    expect(canonicalFormat.matches(hook())).toBe(false);
    // Another CloudEvents-style envelope is not an event hook, nor a LogEvent.
    expect(oktaFormat.matches({ ...hook(), eventType: 'com.example.other' })).toBe(false);
  });

  it('decodes each inner event like a System Log event: token requests kept, the sign-in skipped', () => {
    const results = oktaFormat.adapt(hook());
    expect(results.map((result) => result.kind)).toEqual(['ok', 'skip', 'ok']);
    expect(results[1]).toEqual({ kind: 'skip', reason: 'okta: event type user.session.start is not a client token request' });
    const [inner] = hook().data.events;
    // The same mapping (and raw allowlist) as the event delivered on its own.
    expect(results[0]).toEqual(oktaFormat.adapt(inner as Json)[0]);
    expect(validated(eventOf(results[0]).event)).toMatchObject({
      event_id: 'e1a2b3c4-4c71-11f1-8d3e-5f6a7b8c9d0e',
      client_id: '0oa8f2k4m1QbXyZ9d5d7',
      outcome: 'success',
      time: Date.UTC(2026, 3, 14, 9, 15, 2, 120),
    });
    expect(validated(eventOf(results[2]).event)).toMatchObject({ client_id: '0oa3h7j9n2RcWvUt4e5f', outcome: 'failure', error_code: 'invalid_client' });
  });

  it('keeps in raw the inner event, never the envelope', () => {
    const [first] = oktaFormat.adapt(hook());
    const raw = JSON.parse(eventOf(first).raw ?? '{}') as Json;
    expect(raw.uuid).toBe('e1a2b3c4-4c71-11f1-8d3e-5f6a7b8c9d0e');
    expect(raw).not.toHaveProperty('data');
    expect(raw).not.toHaveProperty('eventId');
  });

  it('skips an empty delivery and dead-letters malformed ones, naming the field', () => {
    expect(oktaFormat.adapt({ ...hook(), data: { events: [] } })).toEqual([{ kind: 'skip', reason: 'okta: event hook delivery holds no events' }]);
    expect(oktaFormat.adapt({ ...hook(), data: { events: 'x' } })).toEqual([{ kind: 'dlq', reason: 'okta: event hook data.events is not an array' }]);
    const [, bad] = oktaFormat.adapt({ ...hook(), data: { events: [hook().data.events[0], 'x'] } });
    expect(bad).toEqual({ kind: 'dlq', reason: 'okta: event hook data.events[1] is not an object' });
  });

  it('goes through the decoder with auto-detection', () => {
    const results = decode(read('event-hook.json'));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'skip', 'ok']);
    expect(results[0]).toMatchObject({ kind: 'ok', event: { idp: 'okta', event_id: 'e1a2b3c4-4c71-11f1-8d3e-5f6a7b8c9d0e' } });
  });
});
