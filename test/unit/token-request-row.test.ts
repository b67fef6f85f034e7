import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TokenRequest } from '@tokenwatch/shared/events/token-request';
import { encodeTokenRequestRow, TOKEN_REQUEST_COLUMNS, type StoredTokenRequest } from '@tokenwatch/shared/storage/token-request-row';
import { MINIMAL_VALIDATED_EVENT } from '../helpers/events.js';
import { HOSTILE_STRINGS, readRow } from '../helpers/stored-row.js';

const MINIMAL: TokenRequest = { ...MINIMAL_VALIDATED_EVENT, event_id: 'evt-1' };


const columnsOf = (event: StoredTokenRequest, raw?: string) => readRow(encodeTokenRequestRow(event, raw));

describe('encodeTokenRequestRow', () => {
  it('writes the columns insert-token-requests.sql names, in its order', () => {
    const statement = readFileSync(new URL('../../shared/src/storage/insert-token-requests.sql', import.meta.url), 'utf8');
    const list = /INSERT INTO token_requests\s*\(([^)]*)\)/.exec(statement)?.[1] ?? '';
    expect(list.split(',').map((column) => column.trim())).toEqual([...TOKEN_REQUEST_COLUMNS]);
    expect(encodeTokenRequestRow(MINIMAL).split('\t')).toHaveLength(TOKEN_REQUEST_COLUMNS.length);
  });

  it('writes absent optional fields as the columns defaults: empty strings, NULL claims, 0, false', () => {
    expect(columnsOf(MINIMAL)).toEqual({
      event_id: 'evt-1',
      time: '1795780800.007',
      idp: 'okta',
      tenant: 'acme',
      client_id: 'svc-orders',
      client_name: '',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      credential_id: '',
      outcome: 'success',
      error_code: '',
      source_ip: '198.51.100.7',
      user_agent: '',
      scopes: [],
      audience: '',
      assertion_jti: '',
      assertion_iat: null,
      assertion_exp: null,
      assertion_iss: '',
      assertion_sub: '',
      assertion_aud: '',
      assertion_kid: '',
      assertion_alg: '',
      replay_reported: 'false',
      assertion_unverified: 'false',
      country: '',
      city: '',
      asn: '0',
      as_org: '',
      geo_source: '',
      ip_scope: '',
      hosting_provider: '',
      raw: '',
    });
  });

  it('writes every field of a full, enriched event with its raw record', () => {
    const full: StoredTokenRequest = {
      ...MINIMAL,
      time: Date.UTC(2026, 0, 5, 3, 4, 5, 60),
      client_name: 'orders service',
      credential_id: 'cred-1',
      outcome: 'failure',
      error_code: 'invalid_client',
      source_ip: '2001:db8::4',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders.read', 'orders.write'],
      audience: 'https://api.example',
      assertion: { jti: 'jti-9', iat: 0, exp: 4_294_967_295, iss: 'svc', sub: 'svc', aud: ['a', 'b'], kid: 'key-1', alg: 'RS256' },
      replay_reported: true,
      assertion_unverified: true,
      geo: { country: 'DE', city: 'Berlin', asn: 4_294_967_295, as_org: 'Deutsche Telekom AG' },
      enrichment: { geo_source: 'idp', ip_scope: 'public', hosting_provider: 'Hetzner' },
    };
    expect(columnsOf(full, '{"uuid":"u-1"}')).toMatchObject({
      time: '1767582245.060',
      scopes: ['orders.read', 'orders.write'],
      assertion_jti: 'jti-9',
      assertion_iat: '0000000000',
      assertion_exp: '4294967295',
      assertion_aud: 'a b',
      replay_reported: 'true',
      assertion_unverified: 'true',
      country: 'DE',
      city: 'Berlin',
      asn: '4294967295',
      geo_source: 'idp',
      ip_scope: 'public',
      hosting_provider: 'Hetzner',
      raw: '{"uuid":"u-1"}',
    });
    expect(columnsOf({ ...MINIMAL, assertion: { aud: 'single' } }).assertion_aud).toBe('single');
    // NumericDates of any size keep ten digits: ClickHouse reads a shorter number as a date and refuses it.
    expect(columnsOf({ ...MINIMAL, assertion: { iat: 5, exp: 86_400 } })).toMatchObject({ assertion_iat: '0000000005', assertion_exp: '0000086400' });
  });

  it.each([
    [Date.UTC(2000, 0, 1), '0946684800.000'],
    [Date.UTC(2000, 0, 1) + 1, '0946684800.001'],
    [Date.UTC(2000, 0, 1) + 99, '0946684800.099'],
    [Date.UTC(2000, 0, 1) + 999, '0946684800.999'],
    [Date.UTC(2286, 10, 20, 17, 46, 39, 999), '9999999999.999'],
    [Date.UTC(2286, 10, 20, 17, 46, 40), '10000000000.000'],
  ])('writes the time %d as epoch seconds with three decimals', (ms, text) => {
    expect(columnsOf({ ...MINIMAL, time: ms }).time).toBe(text);
  });

  it('keeps one line of exactly one field per column whatever the strings hold, and reads back as written', () => {
    for (const hostile of HOSTILE_STRINGS) {
      const event: StoredTokenRequest = {
        ...MINIMAL,
        event_id: hostile,
        client_name: hostile,
        user_agent: hostile,
        scopes: [hostile, 'plain', hostile],
        assertion: { jti: hostile, aud: [hostile, hostile] },
        geo: { city: hostile },
      };
      const line = encodeTokenRequestRow(event, hostile);
      expect(line).not.toMatch(/[\n\r\0]/);
      expect(columnsOf(event, hostile)).toMatchObject({
        event_id: hostile,
        client_name: hostile,
        user_agent: hostile,
        scopes: [hostile, 'plain', hostile],
        assertion_jti: hostile,
        assertion_aud: `${hostile} ${hostile}`,
        city: hostile,
        raw: hostile,
      });
    }
  });

  it('reads back any well-formed string exactly, in a string column and in an array', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 5 }), (value, scopes) => {
        fc.pre(value.isWellFormed() && scopes.every((scope) => scope.isWellFormed()));
        const row = columnsOf({ ...MINIMAL, user_agent: value, scopes }, value);
        expect(row.user_agent).toBe(value);
        expect(row.raw).toBe(value);
        expect(row.scopes).toEqual(scopes);
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes the longest strings the schema allows whole', () => {
    const long = 'x\t\\'.repeat(341);
    const raw = JSON.stringify({ text: 'é\n'.repeat(100_000) });
    const row = columnsOf({ ...MINIMAL, user_agent: long, scopes: Array.from({ length: 256 }, () => long.slice(0, 256)) }, raw);
    expect(row.user_agent).toBe(long);
    expect(row.raw).toBe(raw);
    expect(row.scopes).toHaveLength(256);
  });
});
