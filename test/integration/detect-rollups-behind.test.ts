import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { DetectContext, Detector } from '@tokenwatch/detector/detector';
import { backtest, runTick, type TickResult } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { rollupWatermark } from '@tokenwatch/shared/storage/rollups/refresh';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { HOUR_MS } from '@tokenwatch/shared/time';
import { numberedAssertionRequest } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

// After downtime, or on the first start after a back-fill, the rollups are behind too. A tick
// rolls up at most catch_up_windows_per_tick windows (not the whole backlog before any detector
// looks), examines only what it rolled up, takes no fresh look while the rollups are behind
// (the detectors could not judge arrivals the rollups do not hold), and says `behind`, so the
// service ticks again at once; the ticks together find what one unbounded refresh would.

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const BATCHES = 6;
const BATCH_EVENTS = 500;
const MAX_WINDOW_EVENTS = 1_000;
const MAX_TICKS = 20;

const request = (i: number, parts: { client?: string; jti?: string; id?: string } = {}): TokenRequestInput => numberedAssertionRequest('behind', T0, i, parts);

const countRow = z.object({ n: z.coerce.number() });
const arrivalRow = z.object({ ingested_ms: z.coerce.number() });

/** Each alert as (finding, client, key): what on-call is paged about. */
const pages = (alerts: readonly StoredAlert[]) => [...new Set(alerts.map((alert) => `${alert.finding} ${alert.client_id} ${alert.alert_key}`))].sort();

describe('a tick behind the rollups rolls up a bounded part of them (real chDB)', () => {
  let clickhouse: ClickHouse;
  let lastArrival = 0;
  const context = (overrides: Record<string, unknown> = {}): DetectContext => ({
    clickhouse: clickhouse.client,
    config: parseConfig({ detectors: { safety_lag_seconds: 0, max_window_events: MAX_WINDOW_EVENTS, ...overrides } }, 'test').detectors,
    logger: createLogger('silent'),
  });
  /** Stored requests that arrived up to `until` (epoch ms). */
  const arrivedBy = async (until: number) =>
    (
      await queryRows(
        clickhouse.client,
        "SELECT count() AS n FROM token_requests WHERE ingested_at <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')",
        { until },
        countRow,
      )
    )[0]?.n ?? 0;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-rollups-behind');
    // The backlog, stored and not rolled up (ingestion alone ran: the detector was down). One
    // insert per batch (its rows share their ingested_at), windows of two batches. A replay
    // crosses the first window boundary (batch 1, then batch 2): the second window's tick finds
    // it only if the first use is rolled up by then. Another replay is the last to arrive.
    for (let batch = 0; batch < BATCHES; batch += 1) {
      const events = Array.from({ length: BATCH_EVENTS }, (_, k) => request(batch * BATCH_EVENTS + k));
      if (batch === 1 || batch === 2) events[0] = request(batch * BATCH_EVENTS, { client: 'svc-backlog', jti: 'jti-backlog' });
      await storeEvents(clickhouse, events, { rollUp: false });
    }
    const last = BATCHES * BATCH_EVENTS;
    await storeEvents(
      clickhouse,
      [request(last, { client: 'svc-last', jti: 'jti-last', id: 'last-use-1' }), request(last + 1, { client: 'svc-last', jti: 'jti-last', id: 'last-use-2' })],
      { rollUp: false },
    );
    const [row] = await queryRows(clickhouse.client, 'SELECT toUnixTimestamp64Milli(max(ingested_at)) AS ingested_ms FROM token_requests', {}, arrivalRow);
    lastArrival = row?.ingested_ms ?? 0;
    expect(lastArrival).toBeGreaterThan(0);
    expect(await rollupWatermark(clickhouse.client)).toBeLessThan(lastArrival);
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('rolls up at most catch_up_windows_per_tick windows per tick, examines no further, and catches up over ticks with the alerts of one unbounded refresh', async () => {
    // Two detectors, ticked in turn as the service does (services/detector/src/index.ts): each
    // tick refreshes, so the rollups run ahead of the second one, which is then behind the
    // rollups' watermark while they are behind the arrivals: where a fresh look could happen.
    const detectors: Detector[] = [
      { ...jtiReplay, name: 'jti_replay_rollups_behind_1' },
      { ...jtiReplay, name: 'jti_replay_rollups_behind_2' },
    ];
    const now = Date.now() + 1_000;
    const ticks: Array<{ detector: string; tick: TickResult; rolledUp: number; rollupsAt: number }> = [];
    let rolledUpBefore = await arrivedBy(await rollupWatermark(clickhouse.client));
    expect(rolledUpBefore).toBe(0);
    for (let behind = true; behind; ) {
      expect(ticks.length, 'ticks needed to catch up').toBeLessThan(MAX_TICKS);
      behind = false;
      for (const detector of detectors) {
        const tick = await runTick(context(), detector, now);
        const rollupsAt = await rollupWatermark(clickhouse.client);
        const rolledUp = await arrivedBy(rollupsAt);
        ticks.push({ detector: detector.name, tick, rolledUp: rolledUp - rolledUpBefore, rollupsAt });
        rolledUpBefore = rolledUp;
        behind ||= tick.behind;
      }
    }
    const [first] = ticks;
    // The first tick rolled up one window (two batches), not the 3,002 arrivals, and said so.
    expect(first?.rolledUp).toBe(MAX_WINDOW_EVENTS);
    expect(first?.rollupsAt).toBeLessThan(lastArrival);
    expect(first?.tick.behind).toBe(true);
    for (const { tick, rolledUp, rollupsAt } of ticks) {
      // At most one window of the backlog rolled up per tick, and nothing examined past the rollups.
      expect(rolledUp).toBeLessThanOrEqual(MAX_WINDOW_EVENTS);
      expect(tick.until).toBeLessThanOrEqual(rollupsAt);
      // No fresh look while the rollups were behind: it would have judged arrivals they did not hold.
      if (rollupsAt < lastArrival) expect(tick.fresh).toBeUndefined();
    }
    // The second detector's first tick: behind the rollups (which were behind), and no fresh look.
    expect(ticks[1]?.tick.until).toBeLessThan(ticks[1]?.rollupsAt ?? 0);
    expect(ticks.length).toBeGreaterThanOrEqual(Math.ceil((BATCHES * BATCH_EVENTS) / MAX_WINDOW_EVENTS));
    // Caught up: everything rolled up and examined by both, in order, nothing skipped.
    expect(ticks.at(-1)?.rollupsAt).toBeGreaterThanOrEqual(lastArrival);
    for (const detector of detectors) {
      const own = ticks.filter((recorded) => recorded.detector === detector.name).map((recorded) => recorded.tick);
      expect(own.at(-1)?.until).toBeGreaterThanOrEqual(lastArrival);
      for (let i = 1; i < own.length; i += 1) expect(own[i]?.from).toBe(own[i - 1]?.until);
    }

    // What one unbounded refresh finds: a backtest rolls up all there is (nothing left here), then
    // examines everything stored at once. The bounded ticks paged about the same, each once.
    const raised = ticks.flatMap(({ tick }) => tick.raised);
    const replays = raised.filter((alert) => alert.finding === 'jti_replay');
    expect(pages(replays)).toEqual(['jti_replay svc-backlog jti-backlog', 'jti_replay svc-last jti-last']);
    // Alerts merge by fingerprint, whichever detector found them first: each raised once.
    expect(replays).toHaveLength(2);
    const reference = await backtest(context(), jtiReplay, { from: T0 - HOUR_MS, to: T0 + 2 * HOUR_MS });
    expect(pages(reference)).toEqual(pages(raised));
  });
});
