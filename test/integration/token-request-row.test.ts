import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequest } from '@tokenwatch/shared/events/token-request';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { encodeTokenRequestRow, type StoredTokenRequest } from '@tokenwatch/shared/storage/token-request-row';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { MINIMAL_VALIDATED_EVENT } from '../helpers/events.js';
import { HOSTILE_STRINGS } from '../helpers/stored-row.js';
import { openTestStorage, selectRows } from '../helpers/storage.js';

// The row encoding against the real engine: what is written is read back exactly, whatever
// the strings hold, for every column type the encoder writes.

const BASE: TokenRequest = { ...MINIMAL_VALIDATED_EVENT, event_id: 'row-base' };

interface StoredRow {
  event_id: string;
  time: string;
  ip: string;
  tenant: string;
  client_id: string;
  client_name: string;
  user_agent: string;
  scopes: string[];
  assertion_jti: string;
  assertion_iat: string | null;
  assertion_exp: string | null;
  assertion_aud: string;
  replay_reported: boolean;
  city: string;
  asn: number;
  hosting_provider: string;
  raw: string;
}

describe('token_requests rows (TabSeparated) round-trip through the embedded engine', () => {
  let clickhouse: ClickHouse;
  const read = async (ids: readonly string[]) =>
    new Map(
      (
        await selectRows<StoredRow>(
          clickhouse,
          `SELECT event_id, toString(time) AS time, toString(source_ip) AS ip, tenant, client_id, client_name, user_agent, scopes,
                  assertion_jti, toUnixTimestamp(assertion_iat) AS assertion_iat, toUnixTimestamp(assertion_exp) AS assertion_exp,
                  assertion_aud, replay_reported, city, asn, hosting_provider, raw
           FROM token_requests FINAL WHERE event_id IN {ids:Array(String)}`,
          { ids },
        )
      ).map((row) => [row.event_id, row]),
    );

  beforeAll(async () => {
    clickhouse = await openTestStorage('token-request-row');
    // Times back to 2000 (nine-digit epoch seconds until September 2001) must outlive the TTL (27 years).
    await migrate(clickhouse.client, { retention_days: 10_000 });
  });
  afterAll(async () => {
    await clickhouse?.close();
  });

  it('stores every hostile string exactly, in string columns, arrays, the joined audience and raw', async () => {
    const events: StoredTokenRequest[] = HOSTILE_STRINGS.map((hostile, i) => ({
      ...BASE,
      event_id: `row-hostile-${i}-${hostile}`,
      tenant: `tenant ${hostile}`,
      client_id: hostile,
      client_name: hostile,
      user_agent: hostile,
      scopes: [hostile, 'plain', `${hostile}'`],
      assertion: { jti: hostile, aud: [hostile, 'x'] },
      geo: { city: hostile },
      enrichment: { geo_source: 'none', ip_scope: 'public', hosting_provider: hostile },
    }));
    await insertTokenRequests(clickhouse.client, events.map((event, i) => encodeTokenRequestRow(event, HOSTILE_STRINGS[i])), { dedupToken: 'row-hostile', retries: 0 });
    const stored = await read(events.map((event) => event.event_id));
    expect(stored.size).toBe(events.length);
    events.forEach((event, i) => {
      const hostile = HOSTILE_STRINGS[i] as string;
      expect(stored.get(event.event_id), JSON.stringify(hostile)).toMatchObject({
        tenant: `tenant ${hostile}`,
        client_id: hostile,
        client_name: hostile,
        user_agent: hostile,
        scopes: [hostile, 'plain', `${hostile}'`],
        assertion_jti: hostile,
        assertion_aud: `${hostile} x`,
        city: hostile,
        hosting_provider: hostile,
        raw: hostile,
      });
    });
  });

  it('stores the longest strings the schema allows and a long raw record whole', async () => {
    const long = "x\t\\'".repeat(256);
    const raw = JSON.stringify({ text: 'é\n\t'.repeat(50_000) });
    const event: StoredTokenRequest = { ...BASE, event_id: 'row-long', user_agent: long, scopes: Array.from({ length: 256 }, (_, i) => `${i}${long.slice(0, 250)}`) };
    await insertTokenRequests(clickhouse.client, [encodeTokenRequestRow(event, raw)], { dedupToken: 'row-long', retries: 0 });
    const stored = (await read(['row-long'])).get('row-long');
    expect(stored?.user_agent).toBe(long);
    expect(stored?.raw).toBe(raw);
    expect(stored?.scopes).toEqual(event.scopes);
  });

  it('stores times to the millisecond, NumericDates to their bounds, and both address families', async () => {
    const cases: Array<[string, Partial<StoredTokenRequest>, Partial<StoredRow>]> = [
      ['row-t-2000', { time: Date.UTC(2000, 0, 1) }, { time: '2000-01-01 00:00:00.000' }],
      ['row-t-ms1', { time: Date.UTC(2026, 0, 5, 3, 4, 5, 1) }, { time: '2026-01-05 03:04:05.001' }],
      ['row-t-ms60', { time: Date.UTC(2026, 0, 5, 3, 4, 5, 60) }, { time: '2026-01-05 03:04:05.060' }],
      ['row-t-ms999', { time: Date.UTC(2026, 11, 31, 23, 59, 59, 999) }, { time: '2026-12-31 23:59:59.999' }],
      ['row-claims-edge', { assertion: { iat: 0, exp: 4_294_967_295 } }, { assertion_iat: '0', assertion_exp: '4294967295' }],
      ['row-claims-small', { assertion: { iat: 5, exp: 86_400 } }, { assertion_iat: '5', assertion_exp: '86400' }],
      ['row-claims-none', { assertion: { jti: 'j' } }, { assertion_iat: null, assertion_exp: null }],
      ['row-claims-digits', { assertion: { iat: 100_000, exp: 999_999_999 } }, { assertion_iat: '100000', assertion_exp: '999999999' }],
      ['row-ip-v4', { source_ip: '203.0.113.255' }, { ip: '::ffff:203.0.113.255' }],
      ['row-ip-v6', { source_ip: '2001:db8::4' }, { ip: '2001:db8::4' }],
      ['row-ip-mapped', { source_ip: '::ffff:127.0.0.1' }, { ip: '::ffff:127.0.0.1' }],
      ['row-ip-unspecified', { source_ip: '::' }, { ip: '::' }],
      ['row-flags', { replay_reported: true, geo: { asn: 4_294_967_295 } }, { replay_reported: true, asn: 4_294_967_295 }],
    ];
    await insertTokenRequests(
      clickhouse.client,
      cases.map(([id, fields]) => encodeTokenRequestRow({ ...BASE, ...fields, event_id: id } as StoredTokenRequest)),
      { dedupToken: 'row-values', retries: 0 },
    );
    const stored = await read(cases.map(([id]) => id));
    for (const [id, , expected] of cases) {
      const row = stored.get(id);
      expect(row && { ...row, assertion_iat: row.assertion_iat === null ? null : String(row.assertion_iat), assertion_exp: row.assertion_exp === null ? null : String(row.assertion_exp) }, id).toMatchObject(expected);
    }
  });

  it('stores every number of digits of a time or a NumericDate as itself (ClickHouse reads short numbers as dates)', async () => {
    const ids: string[] = [];
    const events: StoredTokenRequest[] = [];
    for (let digits = 1; digits <= 10; digits += 1) {
      for (const seconds of [10 ** (digits - 1) - (digits === 1 ? 1 : 0), 2 * 10 ** (digits - 1) + 7, Math.min(10 ** digits - 1, 4_294_967_295)]) {
        const id = `row-digits-${seconds}`;
        if (ids.includes(id)) continue;
        ids.push(id);
        events.push({ ...BASE, event_id: id, assertion: { iat: seconds, exp: seconds } });
      }
    }
    const start = Date.UTC(2000, 0, 1);
    for (let i = 0; i < 50; i += 1) {
      const ms = start + Math.floor(((Date.now() - start) * i) / 49);
      ids.push(`row-ms-${ms}`);
      events.push({ ...BASE, event_id: `row-ms-${ms}`, time: ms });
    }
    await insertTokenRequests(clickhouse.client, events.map((event) => encodeTokenRequestRow(event)), { dedupToken: 'row-digits', retries: 0 });
    const stored = await selectRows<{ event_id: string; ms: string; iat: string | null }>(
      clickhouse,
      'SELECT event_id, toUnixTimestamp64Milli(time) AS ms, toUnixTimestamp(assertion_iat) AS iat FROM token_requests FINAL WHERE event_id IN {ids:Array(String)}',
      { ids },
    );
    const byId = new Map(stored.map((row) => [row.event_id, row]));
    for (const event of events) {
      expect(Number(byId.get(event.event_id)?.ms), event.event_id).toBe(event.time);
      if (event.assertion?.iat !== undefined) expect(Number(byId.get(event.event_id)?.iat), event.event_id).toBe(event.assertion.iat);
    }
  });
});
