import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import type { BackfillProgress } from './traffic-task.js';

/**
 * "back-filling history: 123,456 of about 795,000 requests stored (16%), 1.3 of 8 days of history | ETA 1 min 40 s"
 * from the rows in token_requests (`storedRows`, an earlier run's included) and the newest event time among them.
 * The ETA extrapolates the history stored so far (its span is exact, the request count only
 * estimated until the last one is sent) at the pace since the bulk of it began (`pace`), after
 * the pause for the first part.
 */
export function backfillStatus(backfill: BackfillProgress, storedRows: number, newestMs: number, now: number): string {
  const stored = Math.max(0, storedRows - backfill.storedBefore);
  const span = backfill.liveStart - backfill.historyStart;
  const covered = newestMs > backfill.historyStart ? Math.min(span, newestMs - backfill.historyStart) : 0;
  const count = `${stored.toLocaleString('en')} of ${backfill.complete ? '' : 'about '}${backfill.expected.toLocaleString('en')} requests stored`;
  const percent = backfill.expected > 0 ? ` (${Math.min(100, Math.floor((100 * stored) / backfill.expected))}%)` : '';
  const days = `${(covered / DAY_MS).toFixed(1)} of ${daysText(span / DAY_MS)} of history`;
  return `back-filling history: ${count}${percent}, ${days} | ${eta(backfill, covered, span, now)}`;
}

function eta(backfill: BackfillProgress, covered: number, span: number, now: number): string {
  if (backfill.examiningFirstMs !== undefined) return `the detectors examine its first ${Math.round(backfill.examiningFirstMs / MINUTE_MS)} minutes before the rest`;
  const pace = backfill.pace;
  // Too little done yet for a pace worth quoting (under 0.5 % of the span).
  if (pace === undefined || covered - pace.coveredMs < span / 200) return 'ETA –';
  return `ETA ${duration(((now - pace.since) * (span - covered)) / (covered - pace.coveredMs))}`;
}

/** "1 day", "8 days", "2.5 days". */
export function daysText(days: number): string {
  if (days === 1) return '1 day';
  return `${Number.isInteger(days) ? String(days) : days.toFixed(1)} days`;
}

/** "45 s", "2 min 05 s". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
