/**
 * Judging one bucket against a client's baseline (median and MAD of its own past buckets,
 * computed in ClickHouse by baselines.sql). Pure functions, unit-tested apart from ClickHouse.
 */

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
