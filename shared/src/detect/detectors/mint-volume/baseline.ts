/**
 * A client's normal issuance per bucket, robustly: the median and the median absolute
 * deviation (MAD) of its own past buckets, zero-filled (a quiet bucket is data). Pure
 * functions, so the statistics are unit-tested apart from ClickHouse.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

export type BaselineKind = 'hour_of_week' | 'trailing' | 'cold_start';

export interface Baseline {
  readonly kind: BaselineKind;
  readonly median: number;
  readonly mad: number;
  /** How many past buckets it rests on. */
  readonly samples: number;
}

export interface BaselineOptions {
  /** The series ends here (exclusive): the start of the hour being judged. */
  readonly end: number;
  readonly bucketMs: number;
  readonly baselineDays: number;
  readonly firstSeen: number;
  readonly hourOfWeekMinWeeks: number;
  readonly coldStartHours: number;
}

/**
 * Same hour of the week once the client has `hourOfWeekMinWeeks` of history (machine traffic
 * follows cron and business hours, so 03:00 on Monday is compared with past Mondays at
 * 03:00); before that, every bucket of the trailing window; under `coldStartHours` of
 * history, no statistics at all (the caller applies the absolute cap).
 */
export function computeBaseline(series: ReadonlyMap<number, number>, options: BaselineOptions): Baseline {
  const { end, bucketMs, firstSeen } = options;
  const history = end - firstSeen;
  if (history < options.coldStartHours * HOUR) return { kind: 'cold_start', median: 0, mad: 0, samples: 0 };
  const start = Math.max(end - options.baselineDays * DAY, Math.ceil(firstSeen / bucketMs) * bucketMs);
  const byHourOfWeek = history >= options.hourOfWeekMinWeeks * WEEK;
  const values: number[] = [];
  if (byHourOfWeek) {
    // The same hour in each past week: buckets in [end - k weeks, end - k weeks + 1 hour).
    for (let weekStart = end - WEEK; weekStart >= start; weekStart -= WEEK) {
      for (let bucket = weekStart; bucket < weekStart + HOUR; bucket += bucketMs) values.push(series.get(bucket) ?? 0);
    }
  } else {
    for (let bucket = start; bucket < end; bucket += bucketMs) values.push(series.get(bucket) ?? 0);
  }
  if (values.length === 0) return { kind: 'cold_start', median: 0, mad: 0, samples: 0 };
  const center = median(values);
  return {
    kind: byHourOfWeek ? 'hour_of_week' : 'trailing',
    median: center,
    mad: median(values.map((value) => Math.abs(value - center))),
    samples: values.length,
  };
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
 * (a steady client with a tiny MAD must at least multiply its volume).
 */
export function threshold(baseline: Baseline, limits: Limits): number {
  if (baseline.kind === 'cold_start') return limits.coldStartCap;
  return Math.max(baseline.median + limits.k * baseline.mad, limits.minCount, limits.minRatio * baseline.median);
}

/** How many MADs above the median (a MAD of 0 counts as 1, so quiet clients still score). */
export function score(observed: number, baseline: Baseline): number {
  return (observed - baseline.median) / Math.max(baseline.mad, 1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
