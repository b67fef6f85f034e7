import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { DetectContext, Detector, DetectWindow } from '@tokenwatch/detector/detector';
import { runTick, type TickResult } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { numberedAssertionRequest } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

// A detector that is behind (a back-fill, downtime) must still alert on fresh data within a
// tick: each tick looks at the newest arrivals first, then examines a bounded part of the
// backlog, which re-examines the fresh arrivals later without paging twice.

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const BACKLOG_BATCHES = 6;
const BATCH_EVENTS = 500;
const MAX_WINDOW_EVENTS = 1_000;
/** Far more ticks than the backlog needs (6 batches of 500 in windows of about 1,000). */
const MAX_TICKS = 20;

const request = (i: number, parts: { client?: string; jti?: string; id?: string } = {}): TokenRequestInput => numberedAssertionRequest('fresh-look', T0, i, parts);

const arrivalRow = z.object({ ingested_ms: z.coerce.number() });

/** A tick of a detector, with the arrival windows it examined: its fresh look's first. */
interface RecordedTick {
  readonly tick: TickResult;
  readonly freshWindows: readonly DetectWindow[];
  readonly backlogWindows: readonly DetectWindow[];
}

/** jti_replay (under another name, for its own watermarks), recording the windows of each tick. */
function recordingJtiReplay(name: string): { tick(context: DetectContext, now: number): Promise<RecordedTick> } {
  let windows: DetectWindow[] = [];
  const detector: Detector = {
    ...jtiReplay,
    name,
    async detect(context, window) {
      windows.push(window);
      return jtiReplay.detect(context, window);
    },
  };
  return {
    async tick(context, now) {
      windows = [];
      const tick = await runTick(context, detector, now);
      // The fresh look comes first: its windows start where it did (one slice of event time here).
      const fresh = tick.fresh;
      const freshCount = fresh && fresh.from < fresh.until ? windows.findIndex((window) => window.ingestedAfter !== fresh.from) : 0;
      const split = freshCount < 0 ? windows.length : freshCount;
      return { tick, freshWindows: windows.slice(0, split), backlogWindows: windows.slice(split) };
    },
  };
}

const replaysOf = (alerts: readonly StoredAlert[]) => alerts.filter((alert) => alert.finding === 'jti_replay').map((alert) => alert.client_id).sort();

describe('a tick that is behind looks at fresh arrivals first (real chDB)', () => {
  let clickhouse: ClickHouse;
  /** When the fresh replay arrived (its batch's ingested_at). */
  let freshArrival = 0;
  const context = (overrides: Record<string, unknown> = {}): DetectContext => ({
    clickhouse: clickhouse.client,
    config: parseConfig({ detectors: { safety_lag_seconds: 0, max_window_events: MAX_WINDOW_EVENTS, ...overrides } }, 'test').detectors,
    logger: createLogger('silent'),
  });

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-fresh-look');
    // The backlog: one insert per batch (its rows share their ingested_at). An old replay spans
    // batches 2 and 3: past the first window (batches 0 and 1) and before the fresh look.
    for (let batch = 0; batch < BACKLOG_BATCHES; batch += 1) {
      const events = Array.from({ length: BATCH_EVENTS }, (_, k) => request(batch * BATCH_EVENTS + k));
      if (batch === 2) events[0] = request(batch * BATCH_EVENTS, { client: 'svc-backlog', jti: 'jti-backlog' });
      if (batch === 3) events[0] = request(batch * BATCH_EVENTS, { client: 'svc-backlog', jti: 'jti-backlog' });
      await storeEvents(clickhouse, events);
    }
    // Then a fresh attack: one assertion used twice, after all of the backlog arrived.
    const fresh = BACKLOG_BATCHES * BATCH_EVENTS;
    await storeEvents(clickhouse, [
      request(fresh, { client: 'svc-fresh', jti: 'jti-fresh', id: 'fresh-use-1' }),
      request(fresh + 1, { client: 'svc-fresh', jti: 'jti-fresh', id: 'fresh-use-2' }),
    ]);
    const [row] = await queryRows(
      clickhouse.client,
      "SELECT toUnixTimestamp64Milli(max(ingested_at)) AS ingested_ms FROM token_requests WHERE event_id IN ('fresh-use-1', 'fresh-use-2')",
      {},
      arrivalRow,
    );
    freshArrival = row?.ingested_ms ?? 0;
    expect(freshArrival).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises the fresh attack in the first tick, the backlog attack later, and the fresh one only once', async () => {
    const detector = recordingJtiReplay('jti_replay_fresh_look');
    const now = Date.now() + 1_000;
    const ticks: RecordedTick[] = [await detector.tick(context(), now)];
    const first = ticks[0]?.tick;
    // The first tick: behind, its fresh look found the fresh replay, its one backlog window did not reach the old one.
    expect(first?.behind).toBe(true);
    expect(first?.fresh?.until).toBeGreaterThanOrEqual(freshArrival);
    expect(first?.fresh?.from).toBeLessThan(freshArrival);
    expect(ticks[0]?.freshWindows.length).toBeGreaterThan(0);
    expect(ticks[0]?.backlogWindows.length).toBe(1);
    expect(replaysOf(first?.raised ?? [])).toEqual(['svc-fresh']);
    expect(first?.until).toBeLessThan(freshArrival);

    while (ticks.at(-1)?.tick.behind) {
      expect(ticks.length, 'ticks needed to catch up').toBeLessThan(MAX_TICKS);
      ticks.push(await detector.tick(context(), now));
    }
    const later = ticks.slice(1).map((recorded) => recorded.tick);
    // The backlog was examined to the end, its replay raised, in a later tick.
    expect(later.at(-1)?.until).toBeGreaterThanOrEqual(freshArrival);
    expect(replaysOf(later.flatMap((tick) => tick.raised))).toEqual(['svc-backlog']);
    // The backlog's windows re-examined the fresh arrivals, and that changed nothing: neither
    // raised nor updated again (the notifier would post it again).
    const backlogWindows = ticks.flatMap((recorded) => recorded.backlogWindows);
    expect(backlogWindows.some((window) => window.ingestedAfter < freshArrival && freshArrival <= window.ingestedUntil)).toBe(true);
    expect(replaysOf(later.flatMap((tick) => [...tick.raised, ...tick.updated]))).toEqual(['svc-backlog']);
    // One backlog window per tick, contiguous from the first tick's start: nothing skipped.
    for (const recorded of ticks) expect(recorded.backlogWindows.length).toBeLessThanOrEqual(1);
    for (let i = 1; i < ticks.length; i += 1) expect(ticks[i]?.tick.from).toBe(ticks[i - 1]?.tick.until);
  });

  it('looks at no more than fresh_look_max_events of the newest arrivals', async () => {
    const detector = recordingJtiReplay('jti_replay_small_look');
    // The 100th newest arrival is in the last backlog batch (500 rows, one arrival time), so
    // the look starts after it: the fresh replay's two requests, not the batch before them.
    const [lastBatch] = await queryRows(
      clickhouse.client,
      "SELECT toUnixTimestamp64Milli(ingested_at) AS ingested_ms FROM token_requests WHERE event_id = {id:String}",
      { id: `fresh-look-${(BACKLOG_BATCHES - 1) * BATCH_EVENTS + 1}` },
      arrivalRow,
    );
    const first = await detector.tick(context({ fresh_look_max_events: 100 }), Date.now() + 1_000);
    expect(first.tick.fresh?.from).toBe(lastBatch?.ingested_ms);
    expect(first.freshWindows.map((window) => window.ingestedAfter)).toEqual([lastBatch?.ingested_ms]);
    const lookedAt = await queryRows(
      clickhouse.client,
      "SELECT count() AS ingested_ms FROM token_requests WHERE ingested_at > fromUnixTimestamp64Milli({after:Int64}, 'UTC') AND ingested_at <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')",
      { after: first.tick.fresh?.from ?? 0, until: first.tick.fresh?.until ?? 0 },
      arrivalRow,
    );
    expect(lookedAt[0]?.ingested_ms).toBe(2);
  });

  it('examines catch_up_windows_per_tick backlog windows per tick, and takes no fresh look once caught up', async () => {
    const detector = recordingJtiReplay('jti_replay_three_windows');
    const now = Date.now() + 1_000;
    const first = await detector.tick(context({ catch_up_windows_per_tick: 3 }), now);
    // 3,002 arrivals in windows of about 1,000 (a batch shares its arrival time): three in the
    // first tick, the fresh replay's two in the second.
    expect(first.tick.behind).toBe(true);
    expect(first.backlogWindows.length).toBe(3);
    const second = await detector.tick(context({ catch_up_windows_per_tick: 3 }), now);
    expect(second.tick.behind).toBe(false);
    expect(second.tick.until).toBeGreaterThanOrEqual(freshArrival);
    const caughtUp = await detector.tick(context(), Date.now() + 1_000);
    expect(caughtUp.tick.fresh).toBeUndefined();
    expect(caughtUp.tick.behind).toBe(false);
  });
});
