import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keycloakFormat } from '@tokenwatch/ingest/formats/keycloak';
import { canonicalFormat } from '@tokenwatch/ingest/formats/canonical';
import { stableEventId } from '@tokenwatch/ingest/formats/event-id';
import type { Adapted } from '@tokenwatch/ingest/results';
import { tokenRequestSchema, UNKNOWN, UNSPECIFIED_IP, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { at, eventOf, onlyEvent, onlyReason, validated as valid } from '../../helpers/formats.js';
import { readRow } from '../../helpers/stored-row.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/formats/keycloak/${name}`, import.meta.url), 'utf8');
const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixture(name)) as T;
const lines = (name: string): string[] => fixture(name).split('\n').filter((line) => line.trim() !== '');

const REST_EVENTS = fixtureJson<Record<string, unknown>[]>('admin-rest-events.json');
const JBOSS_LINES = lines('jboss-logging.log');
const REPLAY_LINES = lines('replay-warning.log');
const JSON_LOGS = lines('quarkus-json.jsonl').map((line) => JSON.parse(line) as Record<string, unknown>);

const adaptLine = (line: string): Adapted[] => keycloakFormat.adaptText?.(line) ?? [];

describe('keycloak: admin REST EventRepresentation', () => {
  it('maps a CLIENT_LOGIN with every field and a stable id hashed from the record', () => {
    const record = at(REST_EVENTS, 0);
    const event = onlyEvent(keycloakFormat.adapt(record));
    expect(event).toEqual({
      event_id: stableEventId('keycloak', record),
      time: 1795827723456,
      idp: 'keycloak',
      tenant: '5f0c3b8e-2d7a-4c1e-9b3f-1a2b3c4d5e6f',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      outcome: 'success',
      source_ip: '203.0.113.24',
      scopes: ['orders.read', 'orders.write'],
    });
    expect(valid(event).time).toBe(1795827723456);
  });

  it('maps a CLIENT_LOGIN_ERROR to a failure carrying the Keycloak error', () => {
    const event = valid(onlyEvent(keycloakFormat.adapt(at(REST_EVENTS, 1))));
    expect(event).toMatchObject({
      client_id: 'svc-billing',
      outcome: 'failure',
      error_code: 'invalid_client_credentials',
      auth_method: 'client_secret',
      source_ip: '2001:db8::42',
      scopes: [],
    });
  });

  it('skips user logins and code exchanges, naming the event type', () => {
    expect(onlyReason(keycloakFormat.adapt(at(REST_EVENTS, 2)), 'skip')).toBe('keycloak: event type LOGIN is not a client token request');
    expect(onlyReason(keycloakFormat.adapt(at(REST_EVENTS, 3)), 'skip')).toContain('CODE_TO_TOKEN');
  });

  it('skips a type named like an Object.prototype member instead of mapping it', () => {
    expect(onlyReason(keycloakFormat.adapt({ ...at(REST_EVENTS, 0), type: 'toString' }), 'skip')).toContain('toString');
  });

  it("uses Keycloak 26's event id when present and a poller's realmName as the tenant", () => {
    const event = valid(onlyEvent(keycloakFormat.adapt(fixtureJson('admin-rest-event-with-id.json'))));
    expect(event.event_id).toBe('6e3a1f9c-0c55-4a43-9d4e-4f3b8b1c2d7e');
    expect(event.tenant).toBe('acme');
    expect(event.auth_method).toBe('tls_client_auth');
    expect(event.scopes).toEqual(['profile', 'email']);
  });

  it('recognises and skips an admin event', () => {
    const record = fixtureJson('admin-rest-admin-event.json');
    expect(keycloakFormat.matches(record)).toBe(true);
    expect(onlyReason(keycloakFormat.adapt(record), 'skip')).toContain('admin event');
  });

  it('derives the same id from the same record and a different one when a field differs', () => {
    const record = at(REST_EVENTS, 0);
    const again = onlyEvent(keycloakFormat.adapt(structuredClone(record)));
    const later = onlyEvent(keycloakFormat.adapt({ ...record, time: 1795827723457 }));
    expect(again.event_id).toBe(onlyEvent(keycloakFormat.adapt(record)).event_id);
    expect(later.event_id).not.toBe(again.event_id);
  });

  it.each([
    ['client-secret', 'client_secret'],
    ['client-jwt', 'private_key_jwt'],
    ['client-secret-jwt', 'client_secret_jwt'],
    ['client-x509', 'tls_client_auth'],
    ['federated-jwt', 'federated'],
  ])('maps client_auth_method %s to %s', (vendor, canonical) => {
    const record = { ...at(REST_EVENTS, 0), details: { grant_type: 'client_credentials', client_auth_method: vendor } };
    const [result] = keycloakFormat.adapt(record);
    expect(result).toEqual({ kind: 'ok', event: expect.objectContaining({ auth_method: canonical }), raw: expect.any(String) });
  });

  it('maps an unknown authenticator to unknown and reports it; a missing one to unknown silently', () => {
    const custom = { ...at(REST_EVENTS, 0), details: { grant_type: 'client_credentials', client_auth_method: 'acme-hsm-auth' } };
    const [withCustom] = keycloakFormat.adapt(custom);
    expect(withCustom).toMatchObject({ kind: 'ok', event: { auth_method: 'unknown' }, unknownAuthMethod: 'acme-hsm-auth' });
    const [withNone] = keycloakFormat.adapt({ ...custom, details: { grant_type: 'client_credentials' } });
    expect(withNone).toMatchObject({ kind: 'ok', event: { auth_method: 'unknown' } });
    expect(withNone).not.toHaveProperty('unknownAuthMethod');
  });

  it.each([
    ['time missing', { time: undefined }, 'keycloak: time is missing or not epoch milliseconds'],
    ['time as a string', { time: '2026-11-28T01:02:03Z' }, 'keycloak: time is missing or not epoch milliseconds'],
    ['clientId missing', { clientId: null }, 'keycloak: clientId is missing on CLIENT_LOGIN'],
    ['clientId not a string', { clientId: 42 }, 'keycloak: clientId is not a string'],
    ['ipAddress missing', { ipAddress: undefined }, 'keycloak: ipAddress is missing on CLIENT_LOGIN'],
    ['realm missing', { realmId: null }, 'keycloak: realmId and realmName are missing'],
    ['grant_type missing', { details: { client_auth_method: 'client-jwt' } }, 'keycloak: details.grant_type is missing on CLIENT_LOGIN'],
    ['details not an object', { details: 'grant_type=client_credentials' }, 'keycloak: details is not an object'],
    ['scope not a string', { details: { grant_type: 'client_credentials', scope: ['a'] } }, 'keycloak: details.scope is not a string'],
  ])('dead-letters a record with %s, naming the field', (_name, change, reason) => {
    expect(onlyReason(keycloakFormat.adapt({ ...at(REST_EVENTS, 0), ...change }), 'dlq')).toBe(reason);
  });

  it('leaves an out-of-range time to the schema, which names the field', () => {
    // Seconds instead of milliseconds: the adapter passes it on, the schema rejects it.
    const event = onlyEvent(keycloakFormat.adapt({ ...at(REST_EVENTS, 0), time: 1795827723 }));
    const parsed = tokenRequestSchema.safeParse(event);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['time']);
  });

  it('claims Keycloak records only', () => {
    expect(keycloakFormat.matches(at(REST_EVENTS, 0))).toBe(true);
    expect(keycloakFormat.matches({ event_id: 'e', idp: 'keycloak', source_ip: '192.0.2.1' })).toBe(false);
    expect(keycloakFormat.matches({ type: 'seccft', date: '2026-11-28T01:02:03Z', client_id: 'x' })).toBe(false);
    expect(keycloakFormat.matches({ source: 'oidc-provider', event: 'grant.success' })).toBe(false);
  });
});

describe('keycloak: jboss-logging event lines', () => {
  it('maps a quoted Keycloak 23+ line, reading the time from the Quarkus prefix as UTC', () => {
    const line = at(JBOSS_LINES, 0);
    const event = onlyEvent(adaptLine(line));
    expect(event).toEqual({
      event_id: stableEventId('keycloak', line),
      time: Date.UTC(2026, 10, 28, 1, 2, 3, 456),
      idp: 'keycloak',
      tenant: 'acme',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      auth_method: 'client_secret',
      outcome: 'success',
      source_ip: '10.42.0.14',
      scopes: ['email', 'groups', 'profile'],
    });
    valid(event);
  });

  it('maps an error line; a null userId and the error code are read correctly', () => {
    const event = valid(onlyEvent(adaptLine(at(JBOSS_LINES, 1))));
    expect(event).toMatchObject({
      client_id: 'svc-billing',
      outcome: 'failure',
      error_code: 'invalid_client_credentials',
      auth_method: 'private_key_jwt',
      source_ip: '2001:db8::7',
      time: Date.UTC(2026, 10, 28, 1, 2, 4, 1),
    });
  });

  it("maps the unquoted pre-23 format, with '…' around a value holding spaces", () => {
    const event = valid(onlyEvent(adaptLine(at(JBOSS_LINES, 2))));
    expect(event).toMatchObject({
      tenant: 'acme',
      client_id: 'svc-legacy',
      auth_method: 'client_secret_jwt',
      source_ip: '198.51.100.23',
      scopes: ['orders.read', 'orders.write'],
    });
  });

  it("prefers a syslog header's zoned time over the zone-less Quarkus time", () => {
    const event = valid(onlyEvent(adaptLine(at(JBOSS_LINES, 3))));
    expect(event.time).toBe(Date.UTC(2026, 10, 28, 1, 2, 6, 789));
    expect(event.client_id).toBe('svc-syslog');
  });

  it('skips user events, admin events and other server lines', () => {
    expect(onlyReason(adaptLine(at(JBOSS_LINES, 4)), 'skip')).toBe('keycloak: event type LOGIN is not a client token request');
    expect(onlyReason(adaptLine(at(JBOSS_LINES, 5)), 'skip')).toBe('keycloak: admin event, not a token request');
    expect(onlyReason(adaptLine(at(JBOSS_LINES, 6)), 'skip')).toBe('keycloak: server log line, not an event');
  });

  it('adapts every line of a multi-line chunk, in order', () => {
    const results = keycloakFormat.adaptText?.(fixture('jboss-logging.log')) ?? [];
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'ok', 'ok', 'skip', 'skip', 'skip']);
  });

  it('recognises Keycloak lines and nothing else', () => {
    for (const line of [...JBOSS_LINES, ...REPLAY_LINES]) expect(keycloakFormat.matchesText?.(line), line).toBe(true);
    expect(keycloakFormat.matchesText?.('203.0.113.9 - - [28/Nov/2026:01:02:03 +0000] "POST /token HTTP/1.1" 200 512')).toBe(false);
    expect(keycloakFormat.matchesText?.('2026-11-28 01:02:03,456 INFO  [io.quarkus] (main) Installed features: [cdi]')).toBe(false);
    expect(keycloakFormat.matchesText?.('the type=CLIENT_LOGIN of things')).toBe(false);
  });

  it('dead-letters an event line shipped without a timestamp instead of stamping it now', () => {
    const bare = at(JBOSS_LINES, 0).slice(at(JBOSS_LINES, 0).indexOf('type='));
    expect(onlyReason(adaptLine(bare), 'dlq')).toMatch(/^keycloak: log line has no timestamp/);
  });

  it('reads a line whose timestamp carries an offset', () => {
    const line = `2026-11-28T02:02:03.456+01:00 INFO  [org.keycloak.events] (t) ${at(JBOSS_LINES, 0).slice(at(JBOSS_LINES, 0).indexOf('type='))}`;
    expect(valid(onlyEvent(adaptLine(line))).time).toBe(Date.UTC(2026, 10, 28, 1, 2, 3, 456));
  });

  it('dead-letters an impossible date', () => {
    const line = at(JBOSS_LINES, 0).replace('2026-11-28 01:02:03', '2026-02-31 01:02:03');
    expect(onlyReason(adaptLine(line), 'dlq')).toBe('keycloak: log line timestamp is not a valid date');
  });

  it('dead-letters a truncated line, naming the value that is cut off', () => {
    const line = '2026-11-28 01:02:03,456 DEBUG [org.keycloak.events] (t) type="CLIENT_LOGIN", realmId="r", clientId="svc-ord';
    expect(onlyReason(adaptLine(line), 'dlq')).toBe('keycloak: malformed event line: unterminated value of clientId');
  });

  it('dead-letters a required field printed as null', () => {
    const line = at(JBOSS_LINES, 0).replace('ipAddress="10.42.0.14"', 'ipAddress="null"');
    expect(onlyReason(adaptLine(line), 'dlq')).toBe('keycloak: ipAddress is missing on CLIENT_LOGIN');
  });

  it('unescapes a quote Keycloak escaped inside a value', () => {
    const line = at(JBOSS_LINES, 0).replace('clientId="svc-orders"', 'clientId="svc \\"blue\\" orders"');
    expect(onlyEvent(adaptLine(line)).client_id).toBe('svc "blue" orders');
  });

  it('parses a trace-level line whose cookies list holds commas and equals signs', () => {
    const line = `${at(JBOSS_LINES, 0)}, requestUri="https://kc/realms/acme/protocol/openid-connect/token", cookies=[KEYCLOAK_SESSION=abc, AUTH_SESSION_ID=def]`;
    const candidate = onlyEvent(adaptLine(line));
    expect(valid(candidate).client_id).toBe('svc-orders');
    expect(JSON.stringify(candidate)).not.toContain('KEYCLOAK_SESSION');
  });

  it('dead-letters a line that is no Keycloak line when the format is forced', () => {
    expect(onlyReason(adaptLine('hello world'), 'dlq')).toBe('keycloak: unrecognised log line: neither a jboss-logging event nor a replay warning');
  });

  it('goes through the decoder: a log line is detected and validated', () => {
    const results = decodeMessage(at(JBOSS_LINES, 0), { adapters: [canonicalFormat, keycloakFormat], format: 'auto' });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ kind: 'ok', event: { idp: 'keycloak', client_id: 'svc-orders', time: Date.UTC(2026, 10, 28, 1, 2, 3, 456) } });
  });
});

describe('keycloak: replayed client assertion warning', () => {
  it('reports the jti of the older "authenticating client" message as a replay, writing "not logged" for what the line lacks', () => {
    const line = at(REPLAY_LINES, 0);
    const event = onlyEvent(adaptLine(line));
    expect(event).toEqual({
      event_id: stableEventId('keycloak', line),
      time: Date.UTC(2026, 10, 28, 1, 2, 9, 314),
      idp: 'keycloak',
      // The line names no realm, IP or grant: TokenRequest v1's "not logged" values, not guesses.
      tenant: UNKNOWN,
      client_id: 'svc-orders',
      grant_type: UNKNOWN,
      auth_method: 'unknown',
      outcome: 'failure',
      error_code: 'invalid_client',
      source_ip: UNSPECIFIED_IP,
      scopes: [],
      assertion: { jti: 'a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' },
      replay_reported: true,
    });
    expect(valid(event)).toMatchObject({ tenant: 'unknown', grant_type: 'unknown', source_ip: '::', replay_reported: true });
  });

  it('reads the 2025+ "for issuedFor" message', () => {
    const event = valid(onlyEvent(adaptLine(at(REPLAY_LINES, 1))));
    expect(event).toMatchObject({
      client_id: 'svc-payments',
      assertion: { jti: 'b4e2d3c5-6f70-4b8c-9dae-1f203b4c5d6e' },
      replay_reported: true,
      time: Date.UTC(2026, 10, 28, 1, 2, 10, 2),
    });
  });

  it("keeps a warning naming no client (issuedFor 'null') as a report of client unknown, tenant unknown, address ::", () => {
    const event = valid(onlyEvent(adaptLine(at(REPLAY_LINES, 2))));
    expect(event).toMatchObject({ client_id: UNKNOWN, tenant: UNKNOWN, source_ip: UNSPECIFIED_IP, auth_method: 'unknown', replay_reported: true });
    expect(event.assertion?.jti).toBeTruthy();
  });

  it('takes realm and address from the MDC a text line prints with --log-mdc-enabled, and keeps them in raw', () => {
    const [result] = adaptLine(at(REPLAY_LINES, 3));
    const event = valid(eventOf(result).event);
    expect(event).toMatchObject({
      time: Date.UTC(2026, 10, 28, 1, 2, 12, 250),
      tenant: 'acme',
      client_id: 'svc-reports',
      grant_type: UNKNOWN,
      source_ip: '198.51.100.77',
      assertion: { jti: 'e7b5a6f8-9203-4ebf-8c01-42536e7f8091' },
      replay_reported: true,
    });
    expect(JSON.parse(eventOf(result).raw ?? '{}')).toMatchObject({
      mdc: { realmName: 'acme', clientId: 'svc-reports', ipAddress: '198.51.100.77' },
      replay: { jti: 'e7b5a6f8-9203-4ebf-8c01-42536e7f8091', client: 'svc-reports' },
    });
  });

  it('reads an MDC value holding ", " and ignores MDC keys that are not Keycloak\'s', () => {
    const line = at(REPLAY_LINES, 3).replace('{kc.clientId=svc-reports,', '{kc.clientId=svc-reports, kc.org=Acme, Inc., traceId=abc,');
    expect(valid(onlyEvent(adaptLine(line)))).toMatchObject({ tenant: 'acme', client_id: 'svc-reports', source_ip: '198.51.100.77' });
  });

  it('writes :: for an MDC address that is not an IP address', () => {
    const line = at(REPLAY_LINES, 3).replace('kc.ipAddress=198.51.100.77', 'kc.ipAddress=unknown');
    expect(valid(onlyEvent(adaptLine(line))).source_ip).toBe(UNSPECIFIED_IP);
  });

  it('goes through the decoder: a replay report is valid, whatever the line lacks', () => {
    const results = decodeMessage(REPLAY_LINES.join('\n'), { adapters: [canonicalFormat, keycloakFormat], format: 'auto' });
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const [first] = results;
    if (first?.kind !== 'ok') throw new Error('expected ok');
    expect(readRow(first.line)).toMatchObject({
      idp: 'keycloak',
      tenant: 'unknown',
      client_id: 'svc-orders',
      grant_type: 'unknown',
      source_ip: '::',
      replay_reported: 'true',
      assertion_jti: 'a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    });
  });
});

describe('keycloak: Quarkus JSON log records', () => {
  it('maps an event record, taking the time from its zoned timestamp', () => {
    const record = at(JSON_LOGS, 0);
    expect(keycloakFormat.matches(record)).toBe(true);
    const event = valid(onlyEvent(keycloakFormat.adapt(record)));
    expect(event).toMatchObject({
      event_id: stableEventId('keycloak', record),
      time: Date.UTC(2026, 10, 28, 0, 2, 12, 345),
      tenant: 'acme',
      client_id: 'svc-json',
      auth_method: 'private_key_jwt',
      source_ip: '203.0.113.90',
      scopes: ['orders.read'],
    });
  });

  it('completes a replay warning from the MDC: realm, client and IP', () => {
    const event = onlyEvent(keycloakFormat.adapt(at(JSON_LOGS, 1)));
    expect(event).toMatchObject({
      time: Date.UTC(2026, 10, 28, 0, 2, 13, 678),
      tenant: 'acme',
      client_id: 'svc-payments',
      source_ip: '203.0.113.91',
      assertion: { jti: 'd6a4f5e7-8192-4dae-bfc0-31425d6e7f80' },
      replay_reported: true,
    });
    expect(event.grant_type).toBe(UNKNOWN);
  });

  it('leaves records of other loggers alone and skips other Keycloak server records', () => {
    expect(keycloakFormat.matches(at(JSON_LOGS, 2))).toBe(false);
    const startup = { ...at(JSON_LOGS, 2), 'log.logger': 'org.keycloak.services' };
    expect(keycloakFormat.matches(startup)).toBe(true);
    expect(onlyReason(keycloakFormat.adapt(startup), 'skip')).toBe('keycloak: server log record, not an event');
  });

  it('dead-letters an event record without a zoned timestamp, naming the field', () => {
    const { timestamp: _dropped, ...record } = at(JSON_LOGS, 0);
    expect(onlyReason(keycloakFormat.adapt(record), 'dlq')).toBe('keycloak: timestamp is missing or not an RFC 3339 time with a zone');
  });
});

describe('keycloak: secrets never reach the event', () => {
  const SECRET = 'hunter2-very-secret-value';
  const ASSERTION =
    'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdmMtb3JkZXJzIiwic3ViIjoic3ZjLW9yZGVycyIsImp0aSI6ImFiYyJ9.c2lnbmF0dXJlLWJ5dGVz';
  const BASIC = 'Basic c3ZjLW9yZGVyczpodW50ZXIyLXZlcnktc2VjcmV0LXZhbHVl';
  const secrets = [SECRET, ASSERTION, BASIC, 'c3ZjLW9yZGVyczpodW50ZXIy'];

  it('picks only mapped fields from a REST record stuffed with secrets', () => {
    const record = {
      ...at(REST_EVENTS, 0),
      authorization: BASIC,
      details: {
        ...(at(REST_EVENTS, 0).details as Record<string, string>),
        client_secret: SECRET,
        client_assertion: ASSERTION,
        Authorization: BASIC,
        'header.authorization': BASIC,
      },
    };
    // The adapter's own candidate is checked, not only the schema's output (zod drops unknown keys).
    const candidate = onlyEvent(keycloakFormat.adapt(record));
    const json = JSON.stringify(candidate);
    for (const secret of secrets) expect(json).not.toContain(secret);
    expect(valid(candidate).client_id).toBe('svc-orders');
  });

  it('picks only mapped fields from a log line stuffed with secrets', () => {
    const line = `${at(JBOSS_LINES, 0)}, client_secret="${SECRET}", client_assertion="${ASSERTION}", authorization="${BASIC}"`;
    const candidate = onlyEvent(adaptLine(line));
    const json = JSON.stringify(candidate);
    for (const secret of secrets) expect(json).not.toContain(secret);
    valid(candidate);
  });

  it('picks only mapped fields from a JSON log record stuffed with secrets', () => {
    const record = {
      ...at(JSON_LOGS, 0),
      message: `${at(JSON_LOGS, 0).message as string}, client_secret="${SECRET}", client_assertion="${ASSERTION}"`,
      mdc: { 'kc.authorization': BASIC },
    };
    const candidate = onlyEvent(keycloakFormat.adapt(record));
    const json = JSON.stringify(candidate);
    for (const secret of secrets) expect(json).not.toContain(secret);
    valid(candidate);
  });
});
