import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import type { AlertDraft, StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { arrivalsIn, refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { HOUR_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { mergeDrafts, resolveQuietAlerts, upsertAlerts } from './alerts-store.js';
import type { DetectContext, Detector, DetectWindow } from './detector.js';
import { withOwnership } from './ownership.js';
import { readActiveSuppressions, withoutSuppressed } from './triage/suppressions.js';
import { readWatermark, writeWatermark } from './watermarks.js';

const ARRIVED_SPAN = sql(import.meta.url, './arrived-span.sql');
const arrivedSpanRow = z.object({ arrived: z.coerce.number(), first_ms: z.coerce.number(), last_ms: z.coerce.number() });
const ARRIVAL_CUT = sql(import.meta.url, './arrival-cut.sql');
const arrivalCutRow = z.object({ ingested_ms: z.coerce.number() });
const FRESH_CUT = sql(import.meta.url, './fresh-cut.sql');

/** Detectors examine event time in slices of at most this much (live catch-ups and backtests alike). */
const TIME_SLICE_MS = 6 * HOUR_MS;

/** Before its first tick a detector looks this far back in arrival time; older data is a backtest's job. */
const FIRST_TICK_LOOKBACK_MS = HOUR_MS;

export interface TickResult {
  readonly detector: string;
  /**
   * The arrival-time span examined in order, (from, until]: `until` is the detector's watermark
   * after the tick (everything that arrived by then is examined); `from` when nothing was new.
   */
  readonly from: number;
  readonly until: number;
  /** When the tick was behind: the newest arrivals it examined first, (from, until]. */
  readonly fresh?: { readonly from: number; readonly until: number };
  /**
   * Arrivals up to the tick's end (now less the safety lag) are still to examine: a backlog,
   * the detector's own or the rollups' (the refresh stopped at catch_up_windows_per_tick windows).
   */
  readonly behind: boolean;
  readonly raised: readonly StoredAlert[];
  readonly updated: readonly StoredAlert[];
  readonly resolved: readonly StoredAlert[];
}

/** The key of a detector's fresh-look mark in detector_watermarks (names have no '/'). */
export const freshMarkKey = (detector: string) => `${detector}/fresh`;

/**
 * One live tick of one detector: examine what arrived since its watermark, in windows of at
 * most max_window_minutes and about max_window_events (so a catch-up after downtime or a
 * back-fill stays bounded in time and in the engine's memory), store the alerts, then move the
 * watermark after each window. The watermark moves only after the alerts are stored, so a
 * crash re-examines a window (alerts are idempotent) and never skips one.
 *
 * A tick that is behind (more than one window arrived since the watermark) first takes a fresh
 * look, then examines at most catch_up_windows_per_tick windows of the backlog. Catching up
 * 800,000 back-filled events took a minute in windows of 100,000, and an attack that arrived
 * meanwhile waited for all of it: on-call expects alerts on fresh data within a tick, however
 * far behind the history is. The fresh look examines the newest arrivals (since its own mark,
 * at most fresh_look_max_events), so alerts on fresh data wait for one bounded tick, not for
 * the backlog. The backlog examines those arrivals again when it reaches them: alerts are
 * idempotent (the same finding merges into its alert and is written again only if it changed),
 * so nobody is paged twice, and the watermark alone still says what was examined in order.
 * Arrivals no fresh look took are left to the backlog, never skipped. While the rollups
 * themselves are behind (their refresh is bounded per tick too), a tick takes no fresh look:
 * the detectors could not judge arrivals the rollups do not yet hold (below).
 */
export async function runTick(context: DetectContext, detector: Detector, now: number): Promise<TickResult> {
  const { clickhouse, config } = context;
  // Rows become visible a moment after their ingested_at is taken; stopping short of now
  // keeps a row still being inserted from landing behind the watermark unseen.
  const tickEnd = now - config.safety_lag_seconds * 1000;
  // The rollups the detectors read hold what arrived up to their watermark: examine no further.
  // Rolled up in windows of max_window_events, like the detectors' own (one window's GROUP BY is
  // what the engine holds at once, docs/memory.md), and at most catch_up_windows_per_tick of
  // them: after downtime or behind a back-fill this tick examines what it rolled up, and the
  // next one (at once: `behind`) rolls up more, where one tick used to roll up the whole backlog
  // before any detector looked. Every detector's tick refreshes, so the rollups advance by up to
  // that many windows per enabled detector in one service tick, ahead of each detector's own
  // catch-up: fresh looks (below) resume before the detectors have worked off their backlog.
  const rollups = await refreshRollups(clickhouse, { until: tickEnd, maxWindowEvents: config.max_window_events, maxWindows: config.catch_up_windows_per_tick });
  const until = rollups.watermark;
  // From the tick's end, not the rollups' watermark: a detector's first tick behind stale
  // rollups still starts an hour back from now, and waits (behind) until they reach it.
  const from = (await readWatermark(clickhouse, detector.name)) ?? tickEnd - FIRST_TICK_LOOKBACK_MS;
  const raised: StoredAlert[] = [];
  const updated: StoredAlert[] = [];
  const examine = async (after: number, window: ArrivalWindow) => {
    const result = await examineWindow(context, detector, after, window, now);
    raised.push(...result.raised);
    updated.push(...result.updated);
  };
  const step = config.max_window_minutes * MINUTE_MS;
  let fresh: { from: number; until: number } | undefined;
  let after = from;
  if (from < until) {
    let window = await nextWindow(context, from, Math.min(from + step, until));
    // No fresh look while the rollups are behind (their refresh stopped at its bound). The
    // detectors answer "seen before?" and "what is normal?" from the rollups, so past the
    // rollups' watermark they would read a history without the backlog (a known location
    // looks new: a false alert) and windows without their own arrivals (a replay's first use,
    // a burst's counts: a missed alert); rolling the fresh arrivals up out of order instead
    // would break the one watermark that makes the refresh exactly once. Up to the watermark,
    // the newest arrivals are the tail of what the refresh just rolled up, not fresh traffic:
    // the backlog reaches them within a few ticks, and a look now would find nothing sooner
    // and cost a second examination. Fresh looks resume once the rollups have caught up.
    if (window.ingestedUntil < until && !rollups.behind) {
      fresh = { from: await freshLookStart(context, detector, from, until), until };
      if (fresh.from < until) await examine(fresh.from, await arrivalSpan(context, fresh.from, until));
      await writeWatermark(clickhouse, freshMarkKey(detector.name), until);
    }
    for (let windows = 1; ; windows += 1) {
      await examine(after, window);
      await writeWatermark(clickhouse, detector.name, window.ingestedUntil);
      after = window.ingestedUntil;
      if (after >= until || windows >= config.catch_up_windows_per_tick) break;
      window = await nextWindow(context, after, Math.min(after + step, until));
    }
  }
  const resolved: StoredAlert[] = [];
  for (const [finding, quietMs] of detector.resolveAfterMs?.(config) ?? []) {
    resolved.push(...(await resolveQuietAlerts(clickhouse, finding, quietMs, now)));
  }
  return { detector: detector.name, from, until: after, ...(fresh ? { fresh } : {}), behind: after < until || rollups.behind, raised, updated, resolved };
}

/** An arrival window (after, ingestedUntil] and the event-time span of what arrived in it. */
interface ArrivalWindow {
  readonly ingestedUntil: number;
  readonly span: z.output<typeof arrivedSpanRow> | undefined;
}

/** The detector over one arrival window, a slice of event time at a time; its alerts stored. */
async function examineWindow(context: DetectContext, detector: Detector, after: number, { ingestedUntil, span }: ArrivalWindow, now: number) {
  if (!span || span.arrived === 0) return { raised: [], updated: [] };
  const drafts: AlertDraft[] = [];
  for (let timeFrom = span.first_ms; timeFrom <= span.last_ms; timeFrom += TIME_SLICE_MS) {
    const window: DetectWindow = { ingestedAfter: after, ingestedUntil, timeFrom, timeTo: Math.min(timeFrom + TIME_SLICE_MS, span.last_ms + 1), now };
    drafts.push(...(await detector.detect(context, window)));
  }
  // Suppressions that outlast the oldest evidence examined here (on-call's, stored).
  const suppressions = await readActiveSuppressions(context.clickhouse, span.first_ms);
  return upsertAlerts(context.clickhouse, withOwnership(withoutSuppressed(drafts, suppressions), context.inventory), now);
}

/**
 * Where a behind tick's fresh look starts: after the previous fresh look's mark (what it
 * examined need not be looked at fresh again), but no earlier than max_window_minutes and
 * fresh_look_max_events (at most max_window_events) arrivals before `until`, so the look stays
 * small; what lies before it is the backlog's.
 */
async function freshLookStart({ clickhouse, config }: DetectContext, detector: Detector, watermark: number, until: number): Promise<number> {
  const mark = (await readWatermark(clickhouse, freshMarkKey(detector.name))) ?? watermark;
  const start = Math.max(watermark, mark, until - config.max_window_minutes * MINUTE_MS);
  if (start >= until) return until;
  const [cut] = await queryRows(
    clickhouse,
    FRESH_CUT,
    { ingested_after: toClickHouseTime(start), ingested_until: toClickHouseTime(until), nth: Math.min(config.fresh_look_max_events, config.max_window_events) - 1 },
    arrivalCutRow,
  );
  return Math.max(start, cut?.ingested_ms ?? start);
}

async function arrivalSpan({ clickhouse }: DetectContext, after: number, until: number): Promise<ArrivalWindow> {
  const [span] = await queryRows(clickhouse, ARRIVED_SPAN, { ingested_after: toClickHouseTime(after), ingested_until: toClickHouseTime(until) }, arrivedSpanRow);
  return { ingestedUntil: until, span };
}

/**
 * The arrival window that starts after `after`: up to `ingestedUntil`, or shorter when more than
 * max_window_events events arrived by then. Every query of a detector grows with its window (a
 * million-event back-fill made jti_replay's lookup of the window's jtis take 280 MB of engine
 * memory in one query, docs/memory.md), and any arrival time is a valid boundary: ticks cut
 * arrivals wherever the clock is, and detectors answer "seen before?" from stored history.
 */
async function nextWindow(context: DetectContext, after: number, ingestedUntil: number): Promise<ArrivalWindow> {
  const { clickhouse, config } = context;
  const whole = await arrivalSpan(context, after, ingestedUntil);
  if (!whole.span || whole.span.arrived <= config.max_window_events) return whole;
  const [cut] = await queryRows(
    clickhouse,
    ARRIVAL_CUT,
    { ingested_after: toClickHouseTime(after), ingested_until: toClickHouseTime(ingestedUntil), nth: config.max_window_events - 1 },
    arrivalCutRow,
  );
  // The cut is an arrival after `after`, so the window is never empty and the tick moves on.
  if (!cut || cut.ingested_ms <= after || cut.ingested_ms >= ingestedUntil) return whole;
  return arrivalSpan(context, after, cut.ingested_ms);
}

/**
 * Rolls up the history a backtest judges and returns the arrival time (ingested_at) it reads
 * up to, rollups and token_requests alike. Rollups may only advance to the safety lag behind
 * now (a row becomes visible a moment after its ingested_at is taken, and one the watermark
 * passed unseen would never be rolled up), so requests that arrived within the lag of the
 * backtest's start (`tokenwatch import` followed at once by `tokenwatch backtest`) would be in
 * token_requests but not in the rollups the detectors compare them with: a detector that
 * counts from a rollup (mint_volume) would miss them. When such requests exist the backtest
 * waits the rest of the lag out and then judges everything stored before it started; when none
 * do, it judges up to the lag without waiting.
 */
export async function rollUpStoredHistory({ clickhouse, config }: DetectContext): Promise<number> {
  const startedAt = Date.now();
  const lagMs = config.safety_lag_seconds * 1000;
  const fresh = lagMs > 0 && (await arrivalsIn(clickhouse, startedAt - lagMs, startedAt)) > 0;
  if (fresh) await delay(startedAt + lagMs - Date.now());
  const until = fresh ? startedAt : startedAt - lagMs;
  await refreshRollups(clickhouse, { until, maxWindowEvents: config.max_window_events });
  return until;
}

/**
 * The same detector over stored history: events that happened in [from, to), examined one
 * slice of event time after another as if each slice had just arrived. Returns the alerts it
 * would have raised (stored suppressions applied, as live), merged by fingerprint; it stores
 * nothing and moves no watermark.
 */
export async function backtest(
  context: DetectContext,
  detector: Detector,
  {
    from,
    to,
    sliceMs = TIME_SLICE_MS,
    storedUntil,
  }: {
    from: number;
    to: number;
    sliceMs?: number;
    /** What rollUpStoredHistory returned, when several detectors backtest the same history (runBacktest): it waits only once. */
    storedUntil?: number;
  },
): Promise<StoredAlert[]> {
  const judgedUntil = storedUntil ?? (await rollUpStoredHistory(context));
  const drafts: AlertDraft[] = [];
  for (let start = from; start < to; start += sliceMs) {
    const end = Math.min(start + sliceMs, to);
    drafts.push(
      ...(await detector.detect(context, { ingestedAfter: 0, ingestedUntil: judgedUntil, timeFrom: start, timeTo: end, now: end })),
    );
  }
  const suppressions = await readActiveSuppressions(context.clickhouse, from);
  return mergeDrafts(withOwnership(withoutSuppressed(drafts, suppressions), context.inventory), Date.now());
}
