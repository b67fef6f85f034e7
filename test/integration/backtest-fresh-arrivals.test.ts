/**
 * A backtest right after the history was stored (`tokenwatch import`, then at once
 * `tokenwatch backtest`): the rollups may advance only to the safety lag behind now, so rows
 * that arrived within it were in token_requests but not in the rollups, and a detector that
 * counts from a rollup (mint_volume) judged them as if they had not happened. The backtest now
 * waits the rest of the lag out when such rows exist, and does not wait when none do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import { backtest } from '@tokenwatch/detector/engine';
import { runBacktest } from '@tokenwatch/detector';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createMintVolume } from '@tokenwatch/detector/detectors/mint-volume/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const request = requestBuilder('bf', { geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } });

/** A client first seen now, minting 1,500 tokens in one 5-minute bucket: over mint_volume's cold-start cap of 1,000. */
function coldStartBurst(client = 'svc-fresh-burst'): TokenRequestInput[] {
  return Array.from({ length: 1_500 }, (_, i) => request(client, T0 + Math.floor((i * 5 * MINUTE) / 1_500), { source_ip: `3.208.10.${i % 200}` }));
}

describe('backtest of requests stored moments ago (real chDB)', () => {
  let clickhouse: ClickHouse;
  const context = (safetyLagSeconds?: number) => ({
    clickhouse: clickhouse.client,
    config: parseConfig({ detectors: safetyLagSeconds === undefined ? {} : { safety_lag_seconds: safetyLagSeconds } }, 'test').detectors,
    logger: createLogger('silent'),
  });

  beforeAll(async () => {
    clickhouse = await openTestStorage('backtest-fresh-arrivals');
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('does not wait out the safety lag when nothing arrived within it', async () => {
    // Nothing stored yet: with a lag of a minute, waiting it out would outlast the test's timeout.
    const found = await backtest(context(60), createMintVolume(), { from: T0 - HOUR, to: T0 + HOUR });
    expect(found).toEqual([]);
  }, 30_000);

  it('judges requests stored within the safety lag against rollups that hold them', async () => {
    const defaults = context();
    expect(defaults.config.safety_lag_seconds).toBeGreaterThan(0); // the lag this test is about, at its default
    // As `tokenwatch import` leaves them: stored, not yet rolled up by any tick.
    await storeEvents(clickhouse, coldStartBurst(), { rollUp: false });
    const found = await backtest(defaults, createMintVolume(), { from: T0 - HOUR, to: T0 + HOUR });
    expect(found.map((alert) => [alert.client_id, alert.finding, alert.event_count])).toEqual([['svc-fresh-burst', 'mint_volume', 1_500]]);
  }, 60_000);

  it('finds them in a backtest of several detectors, which waits out the lag once (`tokenwatch detect --once --from`)', async () => {
    await storeEvents(clickhouse, coldStartBurst('svc-second-burst'), { rollUp: false });
    const found = await runBacktest(context(), [jtiReplay, createMintVolume()], { from: T0 - HOUR, to: T0 + HOUR, store: false });
    expect(found.map((alert) => alert.client_id).sort()).toEqual(['svc-fresh-burst', 'svc-second-burst']);
  }, 60_000);
});
