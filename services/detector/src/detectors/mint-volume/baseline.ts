/**
 * Judging one bucket against a client's baseline (median and MAD of its own past buckets,
 * computed in ClickHouse by baselines.sql). Pure functions, unit-tested apart from ClickHouse.
 */

import { HOUR_MS, DAY_MS, WEEK_MS } from '@tokenwatch/shared/time';

export type BaselineKind = 'hour_of_week' | 'trailing' | 'cold_start';

export interface Baseline {
  readonly kind: BaselineKind;
  readonly median: number;
  readonly mad: number;
  /** How many past buckets it rests on (zero-filled). */
  readonly samples: number;
}

export interface Limits {
  readonly k: number;
  readonly minCount: number;
  readonly minRatio: number;
  readonly coldStartCap: number;
}

/**
 * The count a bucket must exceed: median + k x MAD, but never below the absolute floor (a
 * handful of tokens is not an incident however quiet the client) nor below ratio x median
 * (a steady client with a tiny MAD must at least multiply its volume). A client too new for
 * statistics is held to the cold-start cap.
 */
export function threshold(baseline: Baseline, limits: Limits): number {
  if (baseline.kind === 'cold_start') return limits.coldStartCap;
  return Math.max(baseline.median + limits.k * baseline.mad, limits.minCount, limits.minRatio * baseline.median);
}

/** How many MADs above the median (a MAD of 0 counts as 1, so quiet clients still score). */
export function score(observed: number, baseline: Baseline): number {
  return (observed - baseline.median) / Math.max(baseline.mad, 1);
}

/** Which past buckets a bucket is judged against: computed by baselines.sql. */
export type BaselinePlan =
  | { readonly kind: 'cold_start' }
  | {
      readonly kind: 'hour_of_week' | 'trailing';
      /** The sample set ends here (exclusive); also the cache key with the kind. */
      readonly end: number;
      readonly windowStart: number;
      /** Buckets in the set, empty ones included. */
      readonly samples: number;
    };

export interface PlanSettings {
  readonly bucketMs: number;
  readonly baselineDays: number;
  readonly hourOfWeekMinWeeks: number;
  readonly coldStartHours: number;
}

/**
 * The baseline design for a bucket, from the client's history:
 * - under coldStartHours of history: none (the caller applies the absolute cap);
 * - with hourOfWeekMinWeeks weeks or more: the same hour of the week in each past week of the
 *   baseline window (machine traffic follows cron and business hours: Monday 03:00 is
 *   compared with past Mondays at 03:00);
 * - otherwise every bucket of the trailing window, up to the start of the day: a 14-day
 *   median barely moves within a day, and computing it once a day keeps a backtest cheap.
 */
export function planBaseline(bucketStart: number, firstSeen: number, settings: PlanSettings): BaselinePlan {
  const { bucketMs } = settings;
  const firstBucket = Math.floor(firstSeen / bucketMs) * bucketMs;
  const hour = Math.floor(bucketStart / HOUR_MS) * HOUR_MS;
  const cold = settings.coldStartHours * HOUR_MS;
  const range = settings.baselineDays * DAY_MS;
  if (hour - firstBucket < cold) return { kind: 'cold_start' };
  const weeks = Math.min(Math.floor((hour - firstBucket) / WEEK_MS), Math.floor(range / WEEK_MS));
  if (hour - firstBucket >= settings.hourOfWeekMinWeeks * WEEK_MS && weeks > 0) {
    return { kind: 'hour_of_week', end: hour, windowStart: hour - weeks * WEEK_MS, samples: weeks * (HOUR_MS / bucketMs) };
  }
  const day = Math.floor(hour / DAY_MS) * DAY_MS;
  const end = day - firstBucket >= cold ? day : hour;
  const windowStart = Math.max(end - range, firstBucket);
  return { kind: 'trailing', end, windowStart, samples: Math.round((end - windowStart) / bucketMs) };
}
