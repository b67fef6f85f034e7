import { z } from 'zod';
import { sql } from '@tokenwatch/shared/storage/sql';

/** Precision per finding from the verdicts (precision.sql): what `tokenwatch report` prints and the console will show. */
export const PRECISION_BY_FINDING = sql(import.meta.url, './precision.sql');

const count = z.coerce.number().int().nonnegative();

export const precisionRowSchema = z.object({
  finding: z.string(),
  alerts: count,
  true_positive: count,
  benign: count,
  needs_tuning: count,
  without_verdict: count,
  /** true positives / alerts with a verdict; null before any verdict. */
  precision: z.coerce.number().min(0).max(1).nullable(),
});
export type PrecisionRow = z.output<typeof precisionRowSchema>;
