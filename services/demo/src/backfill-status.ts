import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import type { BackfillProgress } from './traffic-task.js';

/**
 * "back-filling history: 123,456 of about 795,000 requests stored (16%), 1.3 of 8 days of history | ETA 1 min 40 s".
 * The ETA extrapolates the days of history stored so far (their span is exact, the request count
 * only estimated until the last one is sent) at the average pace since the demo started.
 */
export function backfillStatus(backfill: BackfillProgress, stored: number, newestMs: number, elapsedMs: number): string {
  const span = backfill.liveStart - backfill.historyStart;
  const covered = newestMs > backfill.historyStart ? Math.min(span, newestMs - backfill.historyStart) : 0;
  const fraction = covered / span;
  const count = `${stored.toLocaleString('en')} of ${backfill.complete ? '' : 'about '}${backfill.expected.toLocaleString('en')} requests stored`;
  const percent = backfill.expected > 0 ? ` (${Math.min(100, Math.floor((100 * stored) / backfill.expected))}%)` : '';
  const days = `${(covered / DAY_MS).toFixed(1)} of ${formatDays(span / DAY_MS)} days of history`;
  const eta =
    backfill.examiningFirstMs !== undefined
      ? `the detectors examine its first ${Math.round(backfill.examiningFirstMs / MINUTE_MS)} minutes before the rest`
      : fraction > 0.005
        ? `ETA ${duration((elapsedMs * (1 - fraction)) / fraction)}`
        : 'ETA –';
  return `back-filling history: ${count}${percent}, ${days} | ${eta}`;
}

/** "8", "2.5". */
export const formatDays = (days: number) => (Number.isInteger(days) ? String(days) : days.toFixed(1));

/** "45 s", "2 min 05 s". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}
