import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { createMintVolume } from '@tokenwatch/detector/detectors/mint-volume/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const MINUTE = 60_000;
const BUCKET = 5 * MINUTE;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const DAYS = 3;

const request = requestBuilder('mv', { geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } });

/** `perBucket` requests in every 5-minute bucket of [from, to), from 200 AWS addresses in turn. */
function steady(client: string, from: number, to: number, perBucket: number, extra: Partial<TokenRequestInput> = {}) {
  const events: TokenRequestInput[] = [];
  for (let bucket = from; bucket < to; bucket += BUCKET) {
    for (let i = 0; i < perBucket; i += 1) events.push(request(client, bucket + Math.floor((i * BUCKET) / perBucket), { source_ip: `3.208.10.${events.length % 200}` }, extra));
  }
  return events;
}

describe('mint_volume detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let alerts: StoredAlert[];
  const detector = createMintVolume();
  const context = () => ({
    clickhouse: clickhouse.client,
    config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors,
    logger: createLogger('silent'),
  });
  const burstAt = T0 + 2 * 60 * MINUTE;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-mint');
    const start = T0 - DAYS * 24 * 60 * MINUTE;
    await storeEvents(clickhouse, [
      // A steady client, 20 tokens per bucket, then 600 in one bucket.
      ...steady('svc-steady', start, T0 + 4 * 60 * MINUTE, 20),
      ...steady('svc-steady', burstAt, burstAt + BUCKET, 580, { source_ip: '45.67.89.10', geo: { country: 'NL', asn: 14061, as_org: 'DIGITALOCEAN-ASN' } }),
      // A quiet client that never failed, then 150 invalid_client in one bucket.
      ...steady('svc-quiet', start, T0 + 4 * 60 * MINUTE, 2),
      ...steady('svc-quiet', burstAt, burstAt + BUCKET, 150, { outcome: 'failure', error_code: 'invalid_client', source_ip: '45.67.89.11' }),
      // Diurnal variation of 3x is normal, not a burst.
      ...Array.from({ length: DAYS * 24 }, (_, hour) =>
        steady('svc-diurnal', start + hour * 60 * MINUTE, start + (hour + 1) * 60 * MINUTE, hour % 24 >= 8 && hour % 24 < 18 ? 30 : 10),
      ).flat(),
      // A client first seen an hour ago: judged against the cold-start cap (1,000 per bucket).
      ...steady('svc-new-small', T0 + 3 * 60 * MINUTE, T0 + 4 * 60 * MINUTE, 400),
      ...steady('svc-new-big', T0 + 3 * 60 * MINUTE, T0 + 3 * 60 * MINUTE + BUCKET, 1_500),
    ]);
    alerts = [...(await runTick(context(), detector, Date.now())).raised];
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('flags a client minting 30x its baseline, with the baseline and the sources in the evidence', () => {
    const burst = alerts.filter((a) => a.client_id === 'svc-steady');
    expect(burst).toHaveLength(1);
    expect(burst[0]).toMatchObject({ finding: 'mint_volume', severity: 'high', event_count: 600, first_seen: burstAt });
    expect(burst[0]?.evidence).toMatchObject({ observed: 600, baseline_median: 20, baseline_mad: 0, bucket_minutes: 5 });
    const sources = burst[0]?.evidence.source_ips as Array<{ ip: string; asn: number; requests: number }>;
    expect(sources[0]).toMatchObject({ ip: '45.67.89.10', asn: 14061, requests: 580 });
    expect(burst[0]?.event_ids.length).toBeGreaterThan(0);
  });

  it('reports a burst of failed client authentication as invalid_client_burst', () => {
    const failures = alerts.filter((a) => a.client_id === 'svc-quiet');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ finding: 'invalid_client_burst', event_count: 150 });
  });

  it('judges clients under 24 hours old against the cold-start cap only', () => {
    expect(alerts.filter((a) => a.client_id === 'svc-new-small')).toEqual([]);
    const big = alerts.filter((a) => a.client_id === 'svc-new-big');
    expect(big).toHaveLength(1);
    expect(big[0]?.evidence).toMatchObject({ baseline_kind: 'cold_start', threshold: 1_000, observed: 1_500 });
  });

  it('raises nothing for steady or diurnal clients', () => {
    expect(alerts.map((a) => a.client_id).sort()).toEqual(['svc-new-big', 'svc-quiet', 'svc-steady']);
  });

  it('finds the same bursts when backtesting the stored history', async () => {
    const found = await backtest(context(), createMintVolume(), { from: T0 - DAYS * 24 * 60 * MINUTE, to: T0 + 5 * 60 * MINUTE });
    expect(found.map((a) => a.alert_id).sort()).toEqual(alerts.map((a) => a.alert_id).sort());
  });
});
