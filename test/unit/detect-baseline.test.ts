import { describe, expect, it } from 'vitest';
import { planBaseline, score, threshold } from '@tokenwatch/detector/detectors/mint-volume/baseline';
import { activeDaysOf, episodeStart } from '@tokenwatch/detector/detectors/secret-new-location/index';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const settings = { bucketMs: 5 * MINUTE, baselineDays: 14, hourOfWeekMinWeeks: 2, coldStartHours: 24 };
const T = Date.UTC(2026, 10, 23, 15, 35); // a Monday, 15:35 UTC

describe('mint_volume baseline design', () => {
  it('holds a client seen for under a day to the cold-start cap', () => {
    expect(planBaseline(T, T - 23 * HOUR, settings)).toEqual({ kind: 'cold_start' });
  });

  it('compares a young client with every bucket since it appeared, up to the start of the day', () => {
    const firstSeen = Date.UTC(2026, 10, 20, 10, 2);
    expect(planBaseline(T, firstSeen, settings)).toEqual({
      kind: 'trailing',
      end: Date.UTC(2026, 10, 23),
      windowStart: Date.UTC(2026, 10, 20, 10, 0),
      samples: (Date.UTC(2026, 10, 23) - Date.UTC(2026, 10, 20, 10, 0)) / (5 * MINUTE),
    });
  });

  it('compares a client with two weeks of history with the same hour in past weeks', () => {
    expect(planBaseline(T, T - 30 * DAY, settings)).toEqual({
      kind: 'hour_of_week',
      end: Date.UTC(2026, 10, 23, 15),
      windowStart: Date.UTC(2026, 10, 23, 15) - 14 * DAY,
      samples: 2 * 12,
    });
  });

  it('alerts only above median + k x MAD, the absolute floor and ratio x median', () => {
    const limits = { k: 6, minCount: 100, minRatio: 3, coldStartCap: 1_000 };
    expect(threshold({ kind: 'trailing', median: 20, mad: 2, samples: 100 }, limits)).toBe(100);
    expect(threshold({ kind: 'trailing', median: 200, mad: 5, samples: 100 }, limits)).toBe(600);
    expect(threshold({ kind: 'trailing', median: 200, mad: 80, samples: 100 }, limits)).toBe(680);
    expect(threshold({ kind: 'cold_start', median: 0, mad: 0, samples: 0 }, limits)).toBe(1_000);
    expect(score(600, { kind: 'trailing', median: 20, mad: 0, samples: 10 })).toBe(580);
  });
});

describe('secret_new_location episodes', () => {
  const day = (n: number, hours = 1) => ({ first_ms: n * DAY, last_ms: n * DAY + hours * HOUR });

  it('starts a place seen every day months ago', () => {
    const sightings = Array.from({ length: 60 }, (_, n) => day(n));
    expect(episodeStart(sightings, 60 * DAY, 30 * DAY, activeDaysOf(sightings))).toBe(0);
  });

  it('starts a place first used now, now', () => {
    expect(episodeStart([day(60)], 60 * DAY, 30 * DAY, [60])).toBe(60 * DAY);
  });

  it('forgets a place not seen for longer than the lookback of the client\'s active days', () => {
    const everyDay = activeDaysOf(Array.from({ length: 61 }, (_, n) => day(n)));
    expect(episodeStart([day(1), day(60)], 60 * DAY + HOUR, 30 * DAY, everyDay)).toBe(60 * DAY);
    expect(episodeStart([day(40), day(60)], 60 * DAY + HOUR, 30 * DAY, everyDay)).toBe(40 * DAY);
  });

  it('keeps a place across a silence longer than the lookback (a monthly job)', () => {
    const monthly = [day(0), day(31), day(64)];
    expect(episodeStart([day(0), day(31)], 64 * DAY + HOUR, 30 * DAY, activeDaysOf(monthly))).toBe(0);
  });
});
