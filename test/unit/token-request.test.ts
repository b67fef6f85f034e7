import { describe, expect, it } from 'vitest';
import { decodeCanonical } from '@tokenwatch/ingest/decode';
import { decodeOne } from '../helpers/decode.js';
import { MINIMAL_EVENT } from '../helpers/events.js';
import { MAX_AHEAD_OF_CLOCK_MS, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { canonicalEvent } from '../helpers/events.js';
import { encodeTokenRequestRow } from '@tokenwatch/shared/storage/token-request-row';
import { readRow } from '../helpers/stored-row.js';

/** The smallest valid event: only the required fields. */
const minimal = MINIMAL_EVENT;

function decodeOk(input: unknown): TokenRequest {
  const result = decodeOne(typeof input === 'string' ? input : JSON.stringify(input));
  if (result.kind !== 'ok') throw new Error(`expected ok, got ${result.kind}: ${result.reason}`);
  return result.event;
}

function decodeReason(input: Buffer | string | null): string {
  const result = decodeOne(input);
  expect(result.kind, `expected a dead letter for ${String(input)}`).toBe('dlq');
  return result.kind === 'dlq' ? result.reason : '';
}

const withField = (field: string, value: unknown) => JSON.stringify({ ...minimal, [field]: value });
const without = (field: keyof typeof minimal) => {
  const { [field]: _dropped, ...rest } = minimal;
  return JSON.stringify(rest);
};

describe('decodeCanonical: accepted events', () => {
  it('accepts an RFC 3339 UTC time and turns it into epoch milliseconds', () => {
    expect(decodeOk(minimal).time).toBe(Date.UTC(2026, 10, 27, 12, 0, 0));
  });

  it('honours the offset and fraction of an RFC 3339 time', () => {
    expect(decodeOk({ ...minimal, time: '2026-11-27T13:00:00.250+01:00' }).time).toBe(Date.UTC(2026, 10, 27, 12, 0, 0, 250));
    expect(decodeOk({ ...minimal, time: '2026-11-27T06:30:00-05:30' }).time).toBe(Date.UTC(2026, 10, 27, 12, 0, 0));
  });

  it('accepts epoch milliseconds unchanged', () => {
    const ms = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
    expect(decodeOk({ ...minimal, time: ms }).time).toBe(ms);
  });

  it('gives the same time for both forms of the same instant', () => {
    const iso = '2026-11-27T12:00:00.123Z';
    expect(decodeOk({ ...minimal, time: iso }).time).toBe(decodeOk({ ...minimal, time: Date.parse(iso) }).time);
  });

  it('accepts 2000-01-01 and up to a day ahead of the clock, and nothing past them', () => {
    expect(decodeOk({ ...minimal, time: '2000-01-01T00:00:00Z' }).time).toBe(Date.UTC(2000, 0, 1));
    const almostADayAhead = Date.now() + MAX_AHEAD_OF_CLOCK_MS - 60_000;
    expect(decodeOk({ ...minimal, time: almostADayAhead }).time).toBe(almostADayAhead);
    expect(decodeReason(withField('time', Date.UTC(2000, 0, 1) - 1))).toBe('invalid TokenRequest: time: time must be 2000-01-01 or later');
    expect(decodeReason(withField('time', Date.now() + MAX_AHEAD_OF_CLOCK_MS + 60_000))).toContain('ahead of this clock');
  });

  it.each([
    ['IPv4', '198.51.100.7'],
    ['IPv6', '2001:db8::1'],
    ['IPv6 loopback', '::1'],
    ['IPv4-mapped IPv6', '::ffff:198.51.100.7'],
  ])('accepts an %s source_ip', (_kind, ip) => {
    expect(decodeOk({ ...minimal, source_ip: ip }).source_ip).toBe(ip);
  });

  it('accepts an event without any optional field, defaulting scopes to []', () => {
    const event = decodeOk(minimal);
    expect(event.scopes).toEqual([]);
    for (const optional of ['client_name', 'credential_id', 'error_code', 'user_agent', 'audience', 'assertion', 'replay_reported', 'assertion_unverified', 'geo']) {
      expect(event).not.toHaveProperty(optional);
    }
  });

  it('keeps the scopes that were sent', () => {
    expect(decodeOk({ ...minimal, scopes: ['orders.read', 'orders.write'] }).scopes).toEqual(['orders.read', 'orders.write']);
  });

  it('accepts every event the test helper generates, in both time forms', () => {
    for (let i = 0; i < 60; i += 1) {
      const input = canonicalEvent(i);
      const event = decodeOk(input);
      expect(event.event_id).toBe(`evt-${i}`);
      expect(typeof event.time).toBe('number');
      expect(event.time).toBe(typeof input.time === 'string' ? Date.parse(input.time) : input.time);
    }
  });

  it('accepts a Buffer as well as a string', () => {
    const result = decodeOne(Buffer.from(JSON.stringify(minimal), 'utf8'));
    expect(result.kind).toBe('ok');
  });

  it('strips unknown keys, so a secret sent alongside never reaches storage', () => {
    const event = decodeOk({
      ...minimal,
      client_secret: 'hunter2-secret',
      assertion: { jti: 'jti-1', client_assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig' },
      geo: { country: 'DE', password: 'pw' },
    });
    expect(event).not.toHaveProperty('client_secret');
    expect(event.assertion).toEqual({ jti: 'jti-1' });
    expect(event.geo).toEqual({ country: 'DE' });
    expect(JSON.stringify(event)).not.toMatch(/hunter2|eyJ|"pw"/);
  });
});

describe('decodeCanonical: dead letters name what is wrong', () => {
  it('rejects text that is not JSON without quoting it', () => {
    const reason = decodeReason('hunter2-secret-value');
    expect(reason).toMatch(/^not JSON/);
    expect(reason).not.toContain('hunter2');
  });

  it('rejects truncated JSON', () => {
    expect(decodeReason('{"event_id": "broken", "client_id": ')).toMatch(/^not JSON/);
  });

  it('splits a JSON array into one result per element', () => {
    const results = decodeCanonical(JSON.stringify([minimal, { ...minimal, event_id: 'second' }, 7]));
    expect(results.map((result) => result.kind)).toEqual(['ok', 'ok', 'dlq']);
    expect(results[2]?.kind === 'dlq' && results[2].reason).toContain('expected a JSON object, got number');
  });

  it('rejects an empty JSON array', () => {
    expect(decodeReason('[]')).toContain('empty JSON array');
  });

  it.each([
    ['a JSON string', '"hello"', 'string'],
    ['a JSON number', '42', 'number'],
  ])('rejects %s', (_kind, input, got) => {
    expect(decodeReason(input)).toContain(`expected a JSON object, got ${got}`);
  });

  it('rejects JSON null', () => {
    expect(decodeReason('null')).toContain('expected a JSON object');
  });

  it.each([
    ['a null message (tombstone)', null],
    ['an empty string', ''],
    ['an empty buffer', Buffer.alloc(0)],
  ])('rejects %s as an empty message', (_kind, input) => {
    expect(decodeReason(input)).toBe('empty message');
  });

  it('rejects a missing client_id, naming it', () => {
    expect(decodeReason(without('client_id'))).toMatch(/^invalid TokenRequest: client_id: /);
  });

  it.each(['event_id', 'time', 'idp', 'tenant', 'grant_type', 'auth_method', 'outcome', 'source_ip'] as const)(
    'rejects a missing %s, naming it',
    (field) => {
      expect(decodeReason(without(field))).toMatch(new RegExp(`^invalid TokenRequest: ${field}: `));
    },
  );

  it.each(['999.1.1.1', 'fe80::1%eth0', '1.2.3', 'localhost', '', '2001:db8::g'])('rejects source_ip %j', (ip) => {
    expect(decodeReason(withField('source_ip', ip))).toBe('invalid TokenRequest: source_ip: expected an IPv4 or IPv6 address');
  });

  it('rejects a wrong type (outcome: 1), naming the field', () => {
    expect(decodeReason(withField('outcome', 1))).toMatch(/^invalid TokenRequest: outcome: /);
  });

  it('rejects scopes sent as a string instead of an array', () => {
    expect(decodeReason(withField('scopes', 'read'))).toMatch(/^invalid TokenRequest: scopes: /);
  });

  it('rejects an unknown auth_method', () => {
    expect(decodeReason(withField('auth_method', 'magic_link'))).toMatch(/^invalid TokenRequest: auth_method: /);
  });

  it('rejects an unknown idp', () => {
    expect(decodeReason(withField('idp', 'myidp'))).toMatch(/^invalid TokenRequest: idp: /);
  });

  it('rejects a country name instead of an ISO code, with the nested path', () => {
    expect(decodeReason(withField('geo', { country: 'Germany' }))).toBe(
      'invalid TokenRequest: geo.country: expected an ISO 3166 alpha-2 country code',
    );
    expect(decodeReason(withField('geo', { country: 'de' }))).toContain('geo.country');
  });

  it('rejects a nested assertion claim of the wrong type with its path', () => {
    expect(decodeReason(withField('assertion', { iat: '2026-11-27' }))).toMatch(/^invalid TokenRequest: assertion\.iat: /);
    expect(decodeReason(withField('assertion', { exp: -1 }))).toMatch(/^invalid TokenRequest: assertion\.exp: /);
  });

  it.each([
    ['year 50000 in milliseconds', Date.UTC(50_000, 0, 1)],
    ['year 2090, which would also wrap the TTL', '2090-01-01T00:00:00Z'],
  ])('rejects a time ahead of the clock (%s)', (_kind, time) => {
    expect(decodeReason(withField('time', time))).toBe(
      'invalid TokenRequest: time: time is more than a day ahead of this clock (a wrong IdP clock or a corrupt timestamp)',
    );
  });

  it.each([
    ['seconds sent as milliseconds', 1_764_244_800],
    ['before 2000', '1999-12-31T23:59:59.999Z'],
  ])('rejects a time before 2000 (%s)', (_kind, time) => {
    expect(decodeReason(withField('time', time))).toBe('invalid TokenRequest: time: time must be 2000-01-01 or later');
  });

  it.each([
    ['no offset', '2026-11-27T12:00:00'],
    ['not a date', 'yesterday'],
    ['an impossible date', '2026-02-30T00:00:00Z'],
    ['fractional milliseconds', 1_795_780_800_000.5],
    ['a boolean', true],
  ])('rejects a time that is %s', (_kind, time) => {
    expect(decodeReason(withField('time', time))).toMatch(/^invalid TokenRequest: time: /);
  });

  it.each([
    ['no offset', '2026-11-27T12:00:00'],
    ['not a date', 'yesterday'],
    ['an impossible date', '2026-02-30T00:00:00Z'],
    ['a space for the T', '2026-11-27 12:00:00Z'],
  ])('says a time string that is %s is not RFC 3339', (_kind, time) => {
    expect(decodeReason(withField('time', time))).toBe('invalid TokenRequest: time: expected an RFC 3339 timestamp');
  });

  it('rejects assertion times DateTime cannot store (after 2106)', () => {
    expect(decodeReason(withField('assertion', { exp: 9_999_999_999 }))).toMatch(/^invalid TokenRequest: assertion\.exp: /);
    expect(decodeOk({ ...minimal, assertion: { exp: 4_294_967_295 } }).assertion?.exp).toBe(4_294_967_295);
  });

  // One check over the validated event refuses them (not one refinement per field): at any
  // depth, with the path of the field, and free text is still made well-formed instead.
  it('rejects a lone surrogate in a nested identifier, naming its path', () => {
    const lone = 'jti-\ud800';
    const cases: Array<[string, unknown, string]> = [
      ['scopes', ['read', lone], 'scopes.1'],
      ['assertion', { jti: lone }, 'assertion.jti'],
      ['assertion', { aud: lone }, 'assertion.aud'],
      ['assertion', { aud: ['https://a.example', lone] }, 'assertion.aud.1'],
      ['credential_id', lone, 'credential_id'],
    ];
    for (const [field, value, path] of cases) {
      expect(decodeReason(withField(field, value))).toBe(`invalid TokenRequest: ${path}: holds a lone UTF-16 surrogate (ill-formed Unicode)`);
    }
    expect(decodeOk({ ...minimal, user_agent: lone, geo: { city: lone } })).toMatchObject({ user_agent: 'jti-\ufffd', geo: { city: 'jti-\ufffd' } });
  });

  it('rejects an empty required string', () => {
    expect(decodeReason(withField('event_id', ''))).toBe('invalid TokenRequest: event_id: Too small: expected string to have >=1 characters');
  });

  it('rejects a field longer than its limit', () => {
    expect(decodeReason(withField('client_id', 'x'.repeat(257)))).toBe('invalid TokenRequest: client_id: Too big: expected string to have <=256 characters');
    expect(decodeOk({ ...minimal, client_id: 'x'.repeat(256) }).client_id).toHaveLength(256);
    expect(decodeReason(withField('user_agent', 'x'.repeat(1025)))).toBe('invalid TokenRequest: user_agent: Too big: expected string to have <=1024 characters');
    expect(decodeReason(JSON.stringify({ ...minimal, assertion: { alg: 'x'.repeat(33) } }))).toBe(
      'invalid TokenRequest: assertion.alg: Too big: expected string to have <=32 characters',
    );
  });

  it('measures lengths in code points, as zod does: a surrogate pair is one character', () => {
    // 256 astral characters are 512 UTF-16 units: within client_id's 256, as zod's own .max() counts.
    const astral = '\u{1F600}';
    expect(decodeOk({ ...minimal, client_id: astral.repeat(256) }).client_id).toBe(astral.repeat(256));
    expect(decodeReason(withField('client_id', astral.repeat(257)))).toBe('invalid TokenRequest: client_id: Too big: expected string to have <=256 characters');
    // Free text is bounded the same way, and made well-formed within its bound.
    expect(decodeOk({ ...minimal, client_name: `${astral.repeat(255)}\ud800` }).client_name).toBe(`${astral.repeat(255)}\ufffd`);
  });

  it('does not echo a secret value from an invalid field into the reason', () => {
    const reason = decodeReason(withField('outcome', 'hunter2-secret'));
    expect(reason).toMatch(/^invalid TokenRequest: outcome: /);
    expect(reason).not.toContain('hunter2');
  });
});

describe('decodeCanonical: the row forwarded to storage', () => {
  function decodeLine(text: string): string {
    const result = decodeOne(text);
    if (result.kind !== 'ok') throw new Error(`expected ok, got ${result.kind}: ${result.reason}`);
    return result.line;
  }

  it('forwards exactly the validated event, encoded as a row (times as epoch seconds.millis)', () => {
    for (const input of [canonicalEvent(7), canonicalEvent(8), minimal]) {
      const result = decodeOne(JSON.stringify(input, null, 2));
      expect(result.kind).toBe('ok');
      if (result.kind === 'ok') expect(result.line).toBe(encodeTokenRequestRow(result.event));
    }
  });

  it('forwards what was validated, not the spelling that was sent', () => {
    // A repeated key: JSON.parse (and so the schema) keeps the last one; storage must see only it.
    const repeated = JSON.stringify(minimal).replace('"client_id":"svc-orders"', '"client_id":"first","client_id":"svc-orders"');
    expect(decodeLine(repeated)).not.toContain('first');
    expect(readRow(decodeLine(repeated))).toMatchObject({ client_id: 'svc-orders' });
    // Integer-valued times written as 1795780800000.0 or 1.7957808e12 arrive as plain integers.
    for (const spelling of ['1795780800000.0', '1.7957808e12']) {
      const line = decodeLine(JSON.stringify({ ...minimal, time: 0 }).replace('"time":0', `"time":${spelling}`));
      expect(readRow(line).time).toBe('1795780800.000');
    }
  });

  it('forwards the validated event without unknown keys, top-level or nested', () => {
    for (const extra of [
      { client_secret: 'hunter2-secret' },
      { assertion: { jti: 'jti-1', client_assertion: 'hunter2-secret' } },
      { geo: { country: 'DE', password: 'hunter2-secret' } },
    ]) {
      const line = decodeLine(JSON.stringify({ ...minimal, ...extra }));
      expect(line).not.toContain('hunter2');
      expect(readRow(line)).toMatchObject({ event_id: 'evt-min', client_id: 'svc-orders', source_ip: '198.51.100.7' });
    }
  });
});

