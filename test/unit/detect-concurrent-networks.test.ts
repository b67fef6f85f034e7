import { describe, expect, it } from 'vitest';
import {
  SLOT_MINUTES,
  SLOTS_PER_DAY,
  absoluteSlot,
  episodes,
  mostAsnsAround,
  runLength,
  runs,
  slotOf,
  slotTimeline,
} from '@tokenwatch/detector/detectors/concurrent-networks/slots';

const MINUTE = 60_000;
const NOON = Date.UTC(2026, 10, 20, 12);
/** Slot of noon plus `minutes`. */
const at = (minutes: number) => slotOf(NOON + minutes * MINUTE);
/** A timeline from [minutes past noon, asn] pairs. */
const timeline = (uses: ReadonlyArray<readonly [number, number]>) => slotTimeline(uses.map(([minutes, asn]) => ({ asn, slots: [at(minutes)] })));
/** Every 15 minutes for `days` days before noon, from each ASN. */
const history = (days: number, asns: readonly number[]) => {
  const uses: Array<[number, number]> = [];
  for (let minutes = -days * 24 * 60; minutes < 0; minutes += 15) for (const asn of asns) uses.push([minutes, asn]);
  return uses;
};
const rules = { length: runLength(10), margin: 2, learnedFrom: at(-7 * 24 * 60) };

describe('concurrent_networks window logic', () => {
  it('matches the rollup: 5-minute slots, 288 a day, day and slot-of-day to an absolute slot', () => {
    expect(SLOT_MINUTES).toBe(5);
    expect(SLOTS_PER_DAY).toBe(288);
    // 12:07 is slot 145 of the day (the rollup's intDiv(12 * 60 + 7, 5)).
    expect(absoluteSlot('2026-11-20', 145)).toBe(at(7));
  });

  it('reads a window of w minutes as ceil(w / 5) + 1 slots, enough for a burst of w minutes at any alignment', () => {
    expect(runLength(10)).toBe(3);
    expect(runLength(7)).toBe(3);
    expect(runLength(5)).toBe(2);
    expect(runLength(1)).toBe(2);
    // A 10-minute burst 12:03 to 12:13 touches the 12:00, 12:05 and 12:10 slots: one run of 3 holds all.
    const burst = timeline([[3, 1], [8, 2], [13, 3]]);
    expect(Math.max(...runs(burst, runLength(10)).map((run) => run.asns))).toBe(3);
    expect(Math.max(...runs(burst, 2).map((run) => run.asns))).toBe(2);
  });

  it('counts distinct ASNs per run, an ASN seen in several slots once', () => {
    const uses = timeline([[0, 1], [5, 1], [10, 1], [10, 2], [30, 3]]);
    expect(runs(uses, 3).map((run) => run.asns)).toEqual([1, 1, 2, 1]);
    expect(mostAsnsAround(uses, 3, [at(30)])).toBe(1);
    expect(mostAsnsAround(uses, 3, [at(10)])).toBe(2);
    expect(mostAsnsAround(uses, 3, [])).toBe(0);
  });

  it('finds a burst of margin more ASNs than the history, once, with a stable start', () => {
    const found = episodes(timeline([...history(10, [1]), [0, 1], [2, 2], [3, 3], [4, 4], [9, 2], [15, 1]]), rules);
    expect(found).toEqual([{ start: at(0), end: at(9), asns: 4, usual: 1 }]);
    // The same burst seen in two halves (two ticks) starts at the same slot.
    const half = episodes(timeline([...history(10, [1]), [0, 1], [2, 2], [3, 3]]), rules);
    expect(half).toEqual([{ start: at(0), end: at(3), asns: 3, usual: 1 }]);
  });

  it('catches a burst that straddles two slots, whose first slot alone is ordinary', () => {
    // 12:57 home and 12:58 a new network (two: not news), 13:01 a third.
    const found = episodes(timeline([...history(10, [1]), [57, 1], [58, 2], [61, 3]]), rules);
    expect(found).toMatchObject([{ start: at(55), asns: 3, usual: 1 }]);
  });

  it('stays silent for a multi-region client adding one provider, and below the margin', () => {
    expect(episodes(timeline([...history(10, [1, 2, 3]), [0, 1], [0, 2], [0, 3], [1, 4]]), rules)).toEqual([]);
    expect(episodes(timeline([...history(10, [1]), [0, 1], [1, 2]]), rules)).toEqual([]);
    expect(episodes(timeline([...history(10, [1]), [0, 1], [1, 2], [2, 3], [3, 4]]), { ...rules, margin: 4 })).toEqual([]);
  });

  it('judges nothing during the learning period, and learns from a burst once it is over', () => {
    // First seen two days ago, learning for seven (the detector: first slot + learning_days).
    expect(episodes(timeline([...history(2, [1]), [0, 1], [1, 2], [2, 3]]), { ...rules, learnedFrom: at((-2 + 7) * 24 * 60) })).toEqual([]);
    const twice = episodes(timeline([...history(10, [1]), [0, 1], [1, 2], [2, 3], [120, 1], [121, 2], [122, 3]]), rules);
    expect(twice).toEqual([{ start: at(0), end: at(2), asns: 3, usual: 1 }]);
  });
});
