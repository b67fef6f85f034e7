import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import type { AlertDraft, StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
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

/** Detectors examine event time in slices of at most this much (live catch-ups and backtests alike). */
const TIME_SLICE_MS = 6 * HOUR_MS;

/** Before its first tick a detector looks this far back in arrival time; older data is a backtest's job. */
const FIRST_TICK_LOOKBACK_MS = HOUR_MS;

export interface TickResult {
  readonly detector: string;
  /** The arrival-time span examined, (from, until]; empty when nothing new had arrived. */
  readonly from: number;
  readonly until: number;
  readonly raised: readonly StoredAlert[];
  readonly updated: readonly StoredAlert[];
  readonly resolved: readonly StoredAlert[];
}

/**
 * One live tick of one detector: examine everything that arrived since its watermark (in
 * windows of at most max_window_minutes and about max_window_events, so a catch-up after
 * downtime or a back-fill stays bounded in time and in the engine's memory), store the alerts,
 * then move the watermark after each window. The watermark moves only after the alerts are stored,
 * so a crash re-examines a window (alerts are idempotent) and never skips one.
 */
export async function runTick(context: DetectContext, detector: Detector, now: number): Promise<TickResult> {
  const { clickhouse, config } = context;
  // Rows become visible a moment after their ingested_at is taken; stopping short of now
  // keeps a row still being inserted from landing behind the watermark unseen.
  // The rollups the detectors read hold what arrived up to their watermark: examine no further.
  const until = (await refreshRollups(clickhouse, { until: now - config.safety_lag_seconds * 1000 })).watermark;
  const from = (await readWatermark(clickhouse, detector.name)) ?? until - FIRST_TICK_LOOKBACK_MS;
  const raised: StoredAlert[] = [];
  const updated: StoredAlert[] = [];
  const step = config.max_window_minutes * MINUTE_MS;
  for (let after = from; after < until; ) {
    const { ingestedUntil, span } = await nextWindow(context, after, Math.min(after + step, until));
    if (span && span.arrived > 0) {
      const drafts: AlertDraft[] = [];
      for (let timeFrom = span.first_ms; timeFrom <= span.last_ms; timeFrom += TIME_SLICE_MS) {
        const window: DetectWindow = { ingestedAfter: after, ingestedUntil, timeFrom, timeTo: Math.min(timeFrom + TIME_SLICE_MS, span.last_ms + 1), now };
        drafts.push(...(await detector.detect(context, window)));
      }
      // Suppressions that outlast the oldest evidence examined here (on-call's, stored).
      const suppressions = await readActiveSuppressions(clickhouse, span.first_ms);
      const result = await upsertAlerts(clickhouse, withOwnership(withoutSuppressed(drafts, suppressions), context.inventory), now);
      raised.push(...result.raised);
      updated.push(...result.updated);
    }
    await writeWatermark(clickhouse, detector.name, ingestedUntil);
    after = ingestedUntil;
  }
  const resolved: StoredAlert[] = [];
  for (const [finding, quietMs] of detector.resolveAfterMs?.(config) ?? []) {
    resolved.push(...(await resolveQuietAlerts(clickhouse, finding, quietMs, now)));
  }
  return { detector: detector.name, from, until: Math.max(from, until), raised, updated, resolved };
}

/**
 * The arrival window that starts after `after`: up to `ingestedUntil`, or shorter when more than
 * max_window_events events arrived by then. Every query of a detector grows with its window (a
 * million-event back-fill made jti_replay's lookup of the window's jtis take 280 MB of engine
 * memory in one query, docs/memory.md), and any arrival time is a valid boundary: ticks cut
 * arrivals wherever the clock is, and detectors answer "seen before?" from stored history.
 */
async function nextWindow(
  { clickhouse, config }: DetectContext,
  after: number,
  ingestedUntil: number,
): Promise<{ ingestedUntil: number; span: z.output<typeof arrivedSpanRow> | undefined }> {
  const spanOf = async (until: number) =>
    (await queryRows(clickhouse, ARRIVED_SPAN, { ingested_after: toClickHouseTime(after), ingested_until: toClickHouseTime(until) }, arrivedSpanRow))[0];
  const span = await spanOf(ingestedUntil);
  if (!span || span.arrived <= config.max_window_events) return { ingestedUntil, span };
  const [cut] = await queryRows(
    clickhouse,
    ARRIVAL_CUT,
    { ingested_after: toClickHouseTime(after), ingested_until: toClickHouseTime(ingestedUntil), nth: config.max_window_events - 1 },
    arrivalCutRow,
  );
  // The cut is an arrival after `after`, so the window is never empty and the tick moves on.
  if (!cut || cut.ingested_ms <= after || cut.ingested_ms >= ingestedUntil) return { ingestedUntil, span };
  return { ingestedUntil: cut.ingested_ms, span: await spanOf(cut.ingested_ms) };
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
  { from, to, sliceMs = TIME_SLICE_MS }: { from: number; to: number; sliceMs?: number },
): Promise<StoredAlert[]> {
  await refreshRollups(context.clickhouse, { until: Date.now() - context.config.safety_lag_seconds * 1000 });
  const drafts: AlertDraft[] = [];
  for (let start = from; start < to; start += sliceMs) {
    const end = Math.min(start + sliceMs, to);
    drafts.push(
      ...(await detector.detect(context, { ingestedAfter: 0, ingestedUntil: Date.now(), timeFrom: start, timeTo: end, now: end })),
    );
  }
  const suppressions = await readActiveSuppressions(context.clickhouse, from);
  return mergeDrafts(withOwnership(withoutSuppressed(drafts, suppressions), context.inventory), Date.now());
}
