import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { DetectContext, Detector, DetectWindow } from '@tokenwatch/detector/detector';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { numberedAssertionRequest } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

// A back-fill arrives in minutes: max_window_events, not max_window_minutes, is what bounds the
// windows (and each detector query's engine memory) of the tick that follows it.

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const BATCHES = 6;
const BATCH_EVENTS = 500;
const MAX_WINDOW_EVENTS = 1_000;

const request = (i: number, jti = `jti-${i}`): TokenRequestInput => numberedAssertionRequest('window', T0, i, { jti });

const countRow = z.object({ n: z.coerce.number() });

/** Records each window it is given and how many stored events arrived in it. */
function windowRecorder(clickhouse: ClickHouse, name: string): Detector & { windows: { window: DetectWindow; arrived: number }[] } {
  const windows: { window: DetectWindow; arrived: number }[] = [];
  return {
    name,
    findings: [],
    windows,
    enabled: () => true,
    async detect(_context, window) {
      const [row] = await queryRows(
        clickhouse.client,
        "SELECT count() AS n FROM token_requests WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')} AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}",
        { after: toClickHouseTime(window.ingestedAfter), until: toClickHouseTime(window.ingestedUntil), from: toClickHouseTime(window.timeFrom), to: toClickHouseTime(window.timeTo) },
        countRow,
      );
      windows.push({ window, arrived: row?.n ?? 0 });
      return [];
    },
  };
}

describe('detector windows bounded by max_window_events (real chDB)', () => {
  let clickhouse: ClickHouse;
  const context = (maxWindowEvents: number): DetectContext => ({
    clickhouse: clickhouse.client,
    // All of the backlog in one tick: windows, not ticks, are what these tests are about
    // (detect-fresh-look.test.ts has ticks that examine part of a backlog).
    config: parseConfig({ detectors: { safety_lag_seconds: 0, max_window_events: maxWindowEvents, catch_up_windows_per_tick: 1_000 } }, 'test').detectors,
    logger: createLogger('silent'),
  });

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-window-events');
    // One insert per batch: the rows of a batch share their ingested_at. The first and the last
    // batch carry the same jti, so its replay spans the windows.
    for (let batch = 0; batch < BATCHES; batch += 1) {
      const events = Array.from({ length: BATCH_EVENTS }, (_, k) => request(batch * BATCH_EVENTS + k));
      if (batch === 0) events[0] = request(0, 'jti-replayed');
      if (batch === BATCHES - 1) events[0] = request(batch * BATCH_EVENTS, 'jti-replayed');
      await storeEvents(clickhouse, events);
    }
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('splits a tick over a back-fill into contiguous windows of about max_window_events, examining every event once', async () => {
    const recorder = windowRecorder(clickhouse, 'window_recorder_small');
    const tick = await runTick(context(MAX_WINDOW_EVENTS), recorder, Date.now() + 1_000);
    expect(tick.behind).toBe(false);
    // A tick that starts behind looks at the newest arrivals first; its backlog windows start at its watermark.
    expect(tick.fresh).toBeDefined();
    const backlogStart = recorder.windows.findIndex((seen) => seen.window.ingestedAfter === tick.from);
    expect(backlogStart).toBeGreaterThan(0);
    // The fresh look is one window too, never more than max_window_events.
    for (const seen of recorder.windows.slice(0, backlogStart)) expect(seen.arrived).toBeLessThanOrEqual(MAX_WINDOW_EVENTS);
    const backlog = recorder.windows.slice(backlogStart);
    const arrived = backlog.map((seen) => seen.arrived);
    expect(arrived.reduce((sum, n) => sum + n, 0)).toBe(BATCHES * BATCH_EVENTS);
    // At most one batch more than the bound (a batch shares its arrival time), and never one window.
    for (const n of arrived) expect(n).toBeLessThanOrEqual(MAX_WINDOW_EVENTS + BATCH_EVENTS);
    expect(backlog.length).toBeGreaterThanOrEqual(Math.ceil((BATCHES * BATCH_EVENTS) / (MAX_WINDOW_EVENTS + BATCH_EVENTS)));
    const bounds = backlog.map((seen) => [seen.window.ingestedAfter, seen.window.ingestedUntil] as const);
    expect(bounds[0]?.[0]).toBe(tick.from);
    for (let i = 1; i < bounds.length; i += 1) expect(bounds[i]?.[0]).toBe(bounds[i - 1]?.[1]);
  });

  it('examines the same back-fill in one window when the bound is above it', async () => {
    const recorder = windowRecorder(clickhouse, 'window_recorder_large');
    await runTick(context(1_000_000), recorder, Date.now() + 1_000);
    expect(recorder.windows.map((seen) => seen.arrived)).toEqual([BATCHES * BATCH_EVENTS]);
  });

  it('still finds a replay whose two uses arrived in different windows', async () => {
    const tick = await runTick(context(MAX_WINDOW_EVENTS), jtiReplay, Date.now() + 1_000);
    const replays = tick.raised.filter((alert) => alert.finding === 'jti_replay');
    expect(replays.map((alert) => alert.client_id)).toEqual(['svc-0']);
  });
});
