import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { createConcurrentNetworks } from '@tokenwatch/detector/detectors/concurrent-networks/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, selectRows, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Noon: history runs up to it, the bursts come an hour later. */
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

type Where = Pick<TokenRequestInput, 'source_ip' | 'geo'>;
const net = (source_ip: string, asn: number, as_org: string, country = 'US'): Where => ({ source_ip, geo: { country, asn, as_org } });
const AWS = net('3.208.10.4', 14618, 'AMAZON-AES');
const GCP = net('34.120.5.6', 15169, 'GOOGLE');
const AZURE = net('20.42.1.9', 8075, 'MICROSOFT-CORP-MSN-AS-BLOCK');
const ORACLE = net('129.146.2.3', 31898, 'ORACLE-BMC-31898');
const DIGITALOCEAN = net('159.203.1.2', 14061, 'DIGITALOCEAN-ASN');
const OVH = net('51.75.3.4', 16276, 'OVH', 'FR');
const HETZNER = net('95.216.7.8', 24940, 'HETZNER-AS', 'DE');
/** No geo: ASN 0, "unknown", which is no network. */
const UNKNOWN: Where = { source_ip: '198.51.100.7' };

const request = requestBuilder('concurrent', { user_agent: 'drift-connector/3.2 okhttp/4.12.0' });

/** A token every 15 minutes (at `offset` past the quarter) over [from, to), from each of `places` at once. */
function history(client: string, from: number, to: number, places: readonly Where[], extra: Partial<TokenRequestInput> = {}, offset = 0) {
  const events: TokenRequestInput[] = [];
  for (let time = from + offset; time < to; time += 15 * MINUTE) for (const where of places) events.push(request(client, time, where, extra));
  return events;
}

describe('concurrent_networks detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  let burst: readonly StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [
          { findings: ['concurrent_networks'], client_id: 'svc-pentest', expires: '2099-01-01', reason: 'test: red team engagement' },
          { findings: ['concurrent_networks'], client_id: 'svc-vpn', asn: 16276, expires: '2099-01-01', reason: 'test: the vendor egress VPN' },
          // Expired: hides nothing.
          { findings: ['concurrent_networks'], client_id: 'svc-expired', expires: '2020-01-01', reason: 'test: expired' },
          // Another finding's entry: hides nothing here.
          { findings: ['dormant_client'], client_id: 'svc-other-entry', expires: '2099-01-01', reason: 'test: dormant_client only' },
        ],
        overrides: [{ client_id: 'svc-tolerant', concurrent_networks: { margin: 4 } }],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  // One instance, as the service runs it: its checkpoints carry over from tick to tick.
  const detector = createConcurrentNetworks();
  const run = async () => runTick(context(), detector, Date.now());
  const of = (alerts: readonly StoredAlert[], client: string) => alerts.filter((alert) => alert.client_id === client);

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-concurrent');
    const events: TokenRequestInput[] = [];
    const from = T0 - 10 * DAY;
    for (const client of ['svc-drift', 'svc-pentest', 'svc-vpn', 'svc-expired', 'svc-other-entry', 'svc-tolerant', 'svc-unknown']) events.push(...history(client, from, T0 + 2 * HOUR, [AWS]));
    // A token at 57 minutes past each hour (and every quarter): a burst straddling 13:00.
    events.push(...history('svc-straddle', from, T0 + 2 * HOUR, [AWS], {}, 12 * MINUTE));
    // Multi-region: always three providers at once.
    events.push(...history('svc-multi', from, T0 + 2 * HOUR, [AWS, GCP, AZURE]));
    // Two keys: key-a from AWS, key-b from four providers (five networks per window for the client).
    events.push(...history('svc-keys', from, T0 + 2 * HOUR, [AWS], { credential_id: 'key-a' }));
    events.push(...history('svc-keys', from, T0 + 2 * HOUR, [GCP, AZURE, DIGITALOCEAN, OVH], { credential_id: 'key-b' }));
    // Two days of history: still learning.
    events.push(...history('svc-young', T0 - 2 * DAY, T0 + 2 * HOUR, [AWS]));
    await storeEvents(clickhouse, events);
    first = (await run()).raised;

    const attack = T0 + HOUR + 2 * MINUTE;
    await storeEvents(clickhouse, [
      // Salesloft Drift: the connector keeps minting from AWS; its stolen secret is used from three more networks.
      ...[DIGITALOCEAN, OVH, HETZNER].map((where, i) => request('svc-drift', attack + i * MINUTE, where, { user_agent: 'python-requests/2.31.0' })),
      ...[DIGITALOCEAN, OVH, HETZNER].map((where, i) => request('svc-pentest', attack + i * MINUTE, where)),
      ...[DIGITALOCEAN, HETZNER].map((where, i) => request('svc-expired', attack + i * MINUTE, where)),
      ...[DIGITALOCEAN, HETZNER].map((where, i) => request('svc-other-entry', attack + i * MINUTE, where)),
      // OVH is allowlisted for svc-vpn: AWS and DigitalOcean are two networks, one more than usual.
      ...[DIGITALOCEAN, OVH].map((where, i) => request('svc-vpn', attack + i * MINUTE, where)),
      // Four networks, three more than usual: under svc-tolerant's margin of 4.
      ...[DIGITALOCEAN, OVH, HETZNER].map((where, i) => request('svc-tolerant', attack + i * MINUTE, where)),
      // Unknown networks do not count: AWS and DigitalOcean only.
      request('svc-unknown', attack, UNKNOWN),
      request('svc-unknown', attack + MINUTE, UNKNOWN),
      request('svc-unknown', attack + MINUTE, DIGITALOCEAN),
      // 12:57 AWS (its usual token), 12:58 DigitalOcean, 13:01 OVH: two networks in the 12:55 slot,
      // one in the 13:00 slot, three within four minutes.
      request('svc-straddle', T0 + 58 * MINUTE, DIGITALOCEAN),
      request('svc-straddle', T0 + HOUR + MINUTE, OVH),
      // A multi-region client adding a fourth provider: one more than it always had.
      request('svc-multi', attack, ORACLE),
      // key-a, stolen, used from the networks key-b always used: five networks for the client as always, three for key-a.
      ...[DIGITALOCEAN, OVH].map((where, i) => request('svc-keys', attack + i * MINUTE, where, { credential_id: 'key-a' })),
      ...[DIGITALOCEAN, OVH, HETZNER].map((where, i) => request('svc-young', attack + i * MINUTE, where)),
    ]);
    burst = (await run()).raised;
  }, 180_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('keeps the client_asn_slots rollup: one row per client, day, credential and ASN, slots of 5 minutes, no ASN 0', async () => {
    const rows = await selectRows<{ asn: number; slots: number[]; requests: string }>(
      clickhouse,
      "SELECT asn, groupUniqArrayArray(slots) AS slots, sum(requests) AS requests FROM client_asn_slots WHERE client_id = 'svc-unknown' AND day = '2026-11-20' GROUP BY asn ORDER BY asn",
    );
    // 00:00 to 14:00 every 15 minutes is 56 tokens from AWS; 13:02 adds slot 156 (13:00).
    expect(rows.map((row) => ({ asn: Number(row.asn), slots: row.slots.length, requests: Number(row.requests) }))).toEqual([
      { asn: 14061, slots: 1, requests: 1 },
      { asn: 14618, slots: 56, requests: 56 },
    ]);
  });

  it('raises nothing while the history itself arrives (multi-region clients included)', () => {
    expect(first).toEqual([]);
  });

  it('raises high for a stolen secret used from several networks while the client keeps minting from home', () => {
    const [alert, ...rest] = of(burst, 'svc-drift');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ finding: 'concurrent_networks', severity: 'high', event_count: 4 });
    expect(alert?.alert_key).toBe(`burst-from:${new Date(T0 + HOUR).toISOString()}`);
    expect(alert?.evidence).toMatchObject({
      scope: 'client',
      window_minutes: 10,
      networks_in_window: 4,
      usual_max_networks: 1,
      usual_networks: [{ asn: 14618, as_org: 'AMAZON-AES', country: 'US', first_seen: new Date(T0 - 10 * DAY).toISOString() }],
    });
    const networks = (alert?.evidence as { burst_networks: Array<{ asn: number; new_network: boolean; source_ips: string[]; requests: number }> }).burst_networks;
    expect(networks.map((network) => [network.asn, network.new_network, network.requests]).sort()).toEqual([
      [14061, true, 1],
      [14618, false, 1],
      [16276, true, 1],
      [24940, true, 1],
    ]);
    expect(networks.find((network) => network.asn === 24940)?.source_ips).toEqual(['95.216.7.8']);
    expect(alert?.summary).toContain('minted tokens from 4 networks (ASNs) within 10 minutes');
  });

  it('catches a burst that straddles two 5-minute slots', () => {
    expect(of(burst, 'svc-straddle')).toMatchObject([
      { severity: 'high', alert_key: `burst-from:${new Date(T0 + 55 * MINUTE).toISOString()}`, evidence: { networks_in_window: 3, usual_max_networks: 1 } },
    ]);
  });

  it('judges one credential against its own history when the client as a whole looks as usual', () => {
    expect(of(burst, 'svc-keys')).toMatchObject([
      { alert_key: `credential:key-a:burst-from:${new Date(T0 + HOUR).toISOString()}`, evidence: { scope: 'credential', credential_id: 'key-a', networks_in_window: 3, usual_max_networks: 1 } },
    ]);
  });

  it('honours allowlist entries (client, ASN; expired and other findings\' entries hide nothing) and per-client margins', () => {
    expect(burst.map((alert) => alert.client_id).sort()).toEqual(['svc-drift', 'svc-expired', 'svc-keys', 'svc-other-entry', 'svc-straddle']);
  });

  it('stays silent for multi-region clients, unknown networks and clients still learning', () => {
    for (const client of ['svc-multi', 'svc-unknown', 'svc-young', 'svc-vpn', 'svc-tolerant', 'svc-pentest']) expect(of(burst, client)).toEqual([]);
  });

  it('updates the same alert while the burst goes on, and raises nothing for a re-run without new data', async () => {
    expect((await run()).raised).toEqual([]);
    await storeEvents(clickhouse, [request('svc-drift', T0 + HOUR + 7 * MINUTE, HETZNER), request('svc-drift', T0 + HOUR + 8 * MINUTE, OVH)]);
    const tick = await run();
    expect(tick.raised).toEqual([]);
    expect(tick.updated.map((alert) => alert.alert_id)).toEqual(of(burst, 'svc-drift').map((alert) => alert.alert_id));
  });

  it('finds the same alerts in a backtest over stored history', async () => {
    const found = await backtest(context(), createConcurrentNetworks(), { from: T0 - 11 * DAY, to: T0 + DAY });
    expect(found.map((alert) => alert.alert_id).sort()).toEqual(burst.map((alert) => alert.alert_id).sort());
  });
});
