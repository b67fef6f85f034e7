import { describe, expect, it } from 'vitest';
import { backfillStatus, daysText, duration } from '@tokenwatch/demo/backfill-status';

const MINUTE = 60_000;
const DAY = 86_400_000;
const liveStart = Date.UTC(2026, 10, 30, 8);
const backfill = { historyStart: liveStart - 8 * DAY, liveStart, storedBefore: 0, expected: 795_000, complete: false };

describe('the demo status line while back-filling', () => {
  it('shows requests stored of those expected, days covered, and an ETA from the pace since the bulk began', () => {
    // The bulk began at `since` with 10 minutes stored; 30 s later 2 days are: the other 6 days
    // at that pace take 6 / (2 - 10 min) of 30 s.
    const since = liveStart + 20_000;
    const status = backfillStatus({ ...backfill, pace: { since, coveredMs: 10 * MINUTE } }, 198_750, backfill.historyStart + 2 * DAY, since + 30_000);
    const seconds = Math.round((30 * 6 * DAY) / (2 * DAY - 10 * MINUTE));
    expect(status).toBe(
      `back-filling history: 198,750 of about 795,000 requests stored (25%), 2.0 of 8 days of history | ETA ${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`,
    );
    expect(status).toContain('ETA 1 min 30 s');
  });

  it('says the count is exact once every history event is sent, and has no ETA before there is a pace', () => {
    expect(backfillStatus({ ...backfill, expected: 690_123, complete: true }, 0, 0, liveStart)).toBe(
      'back-filling history: 0 of 690,123 requests stored (0%), 0.0 of 8 days of history | ETA –',
    );
  });

  it('says when the back-fill waits for the detectors to examine its first part', () => {
    expect(backfillStatus({ ...backfill, examiningFirstMs: 10 * MINUTE }, 559, backfill.historyStart + 10 * MINUTE, liveStart)).toBe(
      'back-filling history: 559 of about 795,000 requests stored (0%), 0.0 of 8 days of history | the detectors examine its first 10 minutes before the rest',
    );
  });

  it('counts only what this back-fill stored when it fills the gap after an earlier run', () => {
    const gap = { ...backfill, historyStart: liveStart - 2 * DAY, storedBefore: 5_000, expected: 200_000 };
    expect(backfillStatus(gap, 55_000, gap.historyStart + DAY / 2, liveStart)).toBe(
      'back-filling history: 50,000 of about 200,000 requests stored (25%), 0.5 of 2 days of history | ETA –',
    );
  });

  it('formats durations and days', () => {
    expect(duration(44_600)).toBe('45 s');
    expect(duration(125_000)).toBe('2 min 05 s');
    expect(duration(-5)).toBe('0 s');
    expect(daysText(1)).toBe('1 day');
    expect(daysText(8)).toBe('8 days');
    expect(daysText(2.54)).toBe('2.5 days');
  });
});
