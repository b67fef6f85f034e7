import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { createConcurrentNetworks } from '@tokenwatch/detector/detectors/concurrent-networks/index';
import { ScanCache } from '@tokenwatch/detector/detectors/concurrent-networks/scan-cache';
import { clientKey } from '@tokenwatch/detector/clients';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

type Where = Pick<TokenRequestInput, 'source_ip' | 'geo'>;
const net = (source_ip: string, asn: number, as_org: string): Where => ({ source_ip, geo: { country: 'US', asn, as_org } });
const AWS = net('3.208.10.4', 14618, 'AMAZON-AES');
const GCP = net('34.120.5.6', 15169, 'GOOGLE');
const AZURE = net('20.42.1.9', 8075, 'MICROSOFT-CORP-MSN-AS-BLOCK');
const DIGITALOCEAN = net('159.203.1.2', 14061, 'DIGITALOCEAN-ASN');
const OVH = net('51.75.3.4', 16276, 'OVH');

const request = requestBuilder('concurrent-late');

/**
 * A late request changes a day the detector had already summarised (scan-cache.ts): the
 * checkpoint must go, even when that tick has nothing to judge, or the next tick judges with a
 * stale past. Here the late request is the client's oldest: it ends its learning period.
 */
describe('concurrent_networks checkpoints and late requests (real chDB)', () => {
  let clickhouse: ClickHouse;
  const cache = new ScanCache();
  const detector = createConcurrentNetworks(cache);
  const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors;
  const run = async () => runTick({ clickhouse: clickhouse.client, config, logger: createLogger('silent') }, detector, Date.now());
  const LATE = clientKey('acme', 'svc-late');

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-concurrent-late');
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('drops a checkpoint when a request older than it arrives, and judges the next burst with the whole past', async () => {
    // Two days from AWS (still learning: seven days), then three networks at 10:00: a candidate, not judged.
    const events: TokenRequestInput[] = [];
    for (let time = T0 - 2 * DAY; time < T0; time += 15 * MINUTE) events.push(request('svc-late', time, AWS));
    events.push(...[AWS, GCP, AZURE].map((where, i) => request('svc-late', T0 - 2 * HOUR + 2 * MINUTE + i * MINUTE, where)));
    await storeEvents(clickhouse, events);
    expect((await run()).raised).toEqual([]);
    expect(cache.dayOf(LATE)).toBe('2026-11-19');

    // Nine days ago, arriving only now: one network, nothing to judge, but the client has now learnt.
    await storeEvents(clickhouse, [request('svc-late', T0 - 9 * DAY, AWS)]);
    expect((await run()).raised).toEqual([]);
    expect(cache.dayOf(LATE)).toBeUndefined();

    // Five networks: two more than the three of 10:00 (which, learnt, was a burst and joined the history).
    await storeEvents(clickhouse, [AWS, GCP, AZURE, DIGITALOCEAN, OVH].map((where, i) => request('svc-late', T0 + HOUR + 2 * MINUTE + i * MINUTE, where)));
    const raised = (await run()).raised;
    expect(raised).toMatchObject([
      { client_id: 'svc-late', alert_key: `burst-from:${new Date(T0 + HOUR).toISOString()}`, evidence: { networks_in_window: 5, usual_max_networks: 3 } },
    ]);
    expect(cache.dayOf(LATE)).toBe('2026-11-19');
  }, 180_000);
});
