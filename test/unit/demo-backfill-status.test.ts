import { describe, expect, it } from 'vitest';
import { backfillStatus, duration } from '@tokenwatch/demo/backfill-status';

const DAY = 86_400_000;
const liveStart = Date.UTC(2026, 10, 30, 8);
const backfill = { historyStart: liveStart - 8 * DAY, liveStart, expected: 795_000, complete: false };

describe('the demo status line while back-filling', () => {
  it('shows requests stored of those expected, days covered, and an ETA from the pace so far', () => {
    // 2 of 8 days stored in 30 s: 6 days to go at the same pace is 90 s.
    expect(backfillStatus(backfill, 198_750, backfill.historyStart + 2 * DAY, 30_000)).toBe(
      'back-filling history: 198,750 of about 795,000 requests stored (25%), 2.0 of 8 days of history | ETA 1 min 30 s',
    );
  });

  it('says the count is exact once every history event is sent, and has no ETA before any day is covered', () => {
    expect(backfillStatus({ ...backfill, expected: 690_123, complete: true }, 0, 0, 5_000)).toBe(
      'back-filling history: 0 of 690,123 requests stored (0%), 0.0 of 8 days of history | ETA –',
    );
  });

  it('says when the back-fill waits for the detectors to examine its first part', () => {
    expect(backfillStatus({ ...backfill, examiningFirstMs: 600_000 }, 559, backfill.historyStart + 600_000, 10_000)).toBe(
      'back-filling history: 559 of about 795,000 requests stored (0%), 0.0 of 8 days of history | the detectors examine its first 10 minutes before the rest',
    );
  });

  it('formats durations in seconds, then minutes and seconds', () => {
    expect(duration(44_600)).toBe('45 s');
    expect(duration(125_000)).toBe('2 min 05 s');
    expect(duration(-5)).toBe('0 s');
  });
});
