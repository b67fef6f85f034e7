import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIndicators } from '@tokenwatch/detector/sweep/indicators';
import { iocMatchDrafts, sweep, type SweepMatch, type SweepReader } from '@tokenwatch/detector/sweep/sweep';
import { upsertAlerts, readAlertsUpdatedSince } from '@tokenwatch/detector/alerts-store';
import { FINDINGS } from '@tokenwatch/detector/findings';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);

const request = requestBuilder('sweep', { source_ip: '3.208.10.4', user_agent: 'okhttp/4.12.0', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } });

describe('tokenwatch sweep (real chDB)', () => {
  let clickhouse: ClickHouse;
  const read: SweepReader = async (query, params) => (await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' })).json();
  const byKey = (matches: readonly SweepMatch[]) => Object.fromEntries(matches.map((match) => [`${match.client_id} ${match.indicator}`, match]));

  beforeAll(async () => {
    clickhouse = await openTestStorage('sweep');
    await storeEvents(clickhouse, [
      // svc-leaky: two requests from an IOC address (one failed), one from an IOC /24 over IPv4.
      request('svc-leaky', T0, { source_ip: '203.0.113.7', geo: { country: 'NL', asn: 64500, as_org: 'BAD-AS' } }),
      request('svc-leaky', T0 + HOUR, { source_ip: '203.0.113.7', outcome: 'failure', error_code: 'invalid_client', geo: { country: 'NL', asn: 64500, as_org: 'BAD-AS' } }),
      request('svc-leaky', T0 + 2 * HOUR, { source_ip: '198.51.100.200' }),
      // svc-v6: inside 2001:db8:abcd::/48 (a range written with host bits) and with a curl agent.
      request('svc-v6', T0, { source_ip: '2001:db8:abcd:12::5', user_agent: 'curl/8.4.0' }),
      // The same event re-sent: counted once.
      { ...request('svc-v6', T0 + HOUR, { source_ip: '2001:db8:abcd:12::6' }), event_id: 'sweep-dup' },
      { ...request('svc-v6', T0 + HOUR, { source_ip: '2001:db8:abcd:12::6' }), event_id: 'sweep-dup' },
      // svc-clean: near misses only (neighbouring addresses, another ASN, an agent without the fragment).
      request('svc-clean', T0, { source_ip: '203.0.113.8' }),
      request('svc-clean', T0, { source_ip: '2001:db8:abce::1', user_agent: 'python-requests/2.31' }),
      // Outside the swept span.
      request('svc-old', T0 - 30 * 24 * HOUR, { source_ip: '203.0.113.7' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  const FILE = [
    '# from the report of 2026-11-12',
    '',
    '203.0.113.7',
    '198.51.100.0/24',
    '2001:db8:abcd:ffff::1/48',
    '  AS64500  ',
    'ua:CURL/',
    '2001:db8:ffff::1',
  ].join('\n');

  it('reports, per client and indicator, first and last seen, requests and successes, over IPv4 and IPv6 ranges', async () => {
    const matches = await sweep(read, parseIndicators(FILE), { from: T0 - 7 * 24 * HOUR, to: T0 + 24 * HOUR });
    const found = byKey(matches);
    expect(Object.keys(found).sort()).toEqual([
      'svc-leaky 198.51.100.0/24',
      'svc-leaky 203.0.113.7',
      'svc-leaky AS64500',
      'svc-v6 2001:db8:abcd:ffff::1/48',
      'svc-v6 ua:CURL/',
    ]);
    expect(found['svc-leaky 203.0.113.7']).toMatchObject({ tenant: 'acme', first_seen: T0, last_seen: T0 + HOUR, requests: 2, successes: 1 });
    expect(found['svc-leaky AS64500']).toMatchObject({ requests: 2, successes: 1 });
    expect(found['svc-leaky 198.51.100.0/24']).toMatchObject({ first_seen: T0 + 2 * HOUR, requests: 1, successes: 1 });
    expect(found['svc-v6 2001:db8:abcd:ffff::1/48']).toMatchObject({ first_seen: T0, last_seen: T0 + HOUR, requests: 2, successes: 2 });
    expect(found['svc-v6 ua:CURL/']).toMatchObject({ requests: 1 });
  });

  it('answers ASN and wide ranges from the client_locations rollup with the same counts', async () => {
    const matches = await sweep(read, parseIndicators('AS64500\n198.51.100.0/24\n2001:db8:abcd::/48'), { from: T0 - HOUR, to: T0 + 24 * HOUR });
    expect(Object.keys(byKey(matches)).sort()).toEqual(['svc-leaky 198.51.100.0/24', 'svc-leaky AS64500', 'svc-v6 2001:db8:abcd::/48']);
    expect(byKey(matches)['svc-v6 2001:db8:abcd::/48']).toMatchObject({ requests: 2 });
  });

  it('counts only [from, to)', async () => {
    const matches = await sweep(read, parseIndicators('203.0.113.7'), { from: T0 + 30 * 60_000, to: T0 + 24 * HOUR });
    expect(matches).toEqual([expect.objectContaining({ client_id: 'svc-leaky', first_seen: T0 + HOUR, requests: 1, successes: 0 })]);
    const old = await sweep(read, parseIndicators('203.0.113.7'), { from: 0, to: T0 - 24 * HOUR });
    expect(old.map((match) => match.client_id)).toEqual(['svc-old']);
  });

  it('raises one ioc_match alert (high) per client, and the same sweep again updates it instead of adding one', async () => {
    const range = { from: T0 - 7 * 24 * HOUR, to: T0 + 24 * HOUR };
    const indicators = parseIndicators(FILE);
    const before = Date.now() - 1;
    const first = await upsertAlerts(clickhouse.client, iocMatchDrafts(await sweep(read, indicators, range), range, indicators.count), Date.now());
    expect(first.raised.map((alert) => [alert.client_id, alert.finding, alert.severity, alert.event_count])).toEqual([
      ['svc-leaky', 'ioc_match', 'high', 3], // a request matching two indicators counts once
      ['svc-v6', 'ioc_match', 'high', 2],
    ]);
    const again = await upsertAlerts(clickhouse.client, iocMatchDrafts(await sweep(read, indicators, range), range, indicators.count), Date.now());
    expect(again.raised).toEqual([]);
    const stored = await readAlertsUpdatedSince(clickhouse.client, before);
    expect(stored).toHaveLength(2);
    for (const alert of stored) expect(FINDINGS.read(alert).ok).toBe(true);
  });
});
