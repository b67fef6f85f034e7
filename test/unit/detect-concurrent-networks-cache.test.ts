import { describe, expect, it } from 'vitest';
import { burstsOf, scanClient, type SlotRow } from '@tokenwatch/detector/detectors/concurrent-networks/index';
import { ScanCache, type ClientCheckpoint, type ScopeCheckpoint } from '@tokenwatch/detector/detectors/concurrent-networks/scan-cache';
import { FIRST_SCAN_STATE, SLOT_MS, SLOTS_PER_DAY, absoluteSlot, runLength, slotOf } from '@tokenwatch/detector/detectors/concurrent-networks/slots';
import { concurrentNetworksConfigSchema } from '@tokenwatch/detector/config';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 10, 1);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A small seeded generator (mulberry32): every failure names its seed and replays. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (below: number) => Math.floor(next() * below), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T };
}

interface Request {
  readonly time: number;
  /** When it reached storage: most within minutes, some days late (a back-fill, a delayed IdP). */
  readonly arrival: number;
  readonly credential: string;
  readonly asn: number;
}

/**
 * Two weeks of one client: each credential's usual networks every 20 minutes or so, some
 * failovers, and bursts of 3 to 6 networks within minutes, in the past and lately.
 */
function generate(seed: number, days: number): Request[] {
  const rng = random(seed);
  const credentials = ['', 'key-a', 'key-b'].slice(0, 1 + rng.int(3));
  const usual = new Map(credentials.map((credential) => [credential, Array.from({ length: 1 + rng.int(3) }, () => 100 + rng.int(6))]));
  const requests: Request[] = [];
  const arrive = (time: number) => (rng.next() < 0.08 ? time + rng.int(4 * DAY) : time + rng.int(3 * MINUTE));
  for (let time = START; time < START + days * DAY; time += 10 * MINUTE + rng.int(30 * MINUTE)) {
    const credential = rng.pick(credentials);
    const asns = usual.get(credential) ?? [];
    for (const asn of asns) if (rng.next() < 0.7) requests.push({ time: time + rng.int(4 * MINUTE), arrival: 0, credential, asn });
    if (rng.next() < 0.02) requests.push({ time, arrival: 0, credential, asn: 200 + rng.int(40) });
    if (rng.next() < 0.015) {
      for (let i = 3 + rng.int(12); i > 0; i--) requests.push({ time: time + rng.int(9 * MINUTE), arrival: 0, credential: rng.pick(credentials), asn: 300 + rng.int(50) });
    }
  }
  return requests.map((request) => ({ ...request, arrival: arrive(request.time) }));
}

/** The rollup's rows (client_asn_slots) of the requests stored by `until`, up to day `toDay`. */
function rollup(requests: readonly Request[], until: number, toDay: string): SlotRow[] {
  const rows = new Map<string, { day: string; credential: string; asn: number; slots: Set<number>; first_ms: number; last_ms: number; requests: number }>();
  for (const request of requests) {
    const day = isoDay(request.time);
    if (request.arrival > until || day > toDay) continue;
    const key = `${day}/${request.credential}/${request.asn}`;
    const row = rows.get(key) ?? { day, credential: request.credential, asn: request.asn, slots: new Set<number>(), first_ms: request.time, last_ms: request.time, requests: 0 };
    row.slots.add(Math.floor((request.time % DAY) / SLOT_MS));
    row.first_ms = Math.min(row.first_ms, request.time);
    row.last_ms = Math.max(row.last_ms, request.time);
    row.requests += 1;
    rows.set(key, row);
  }
  return [...rows.values()].map((row) => ({ tenant: 'acme', client_id: 'svc', as_org: '', country: '', ...row, slots: [...row.slots] }));
}

describe('concurrent_networks checkpoints', () => {
  const settings = concurrentNetworksConfigSchema.parse({ learning_days: 2 });
  const length = runLength(settings.concurrent_window_minutes);

  /**
   * Replays ticks every few hours as the detector runs them (a checkpoint is dropped when a
   * tick brings a request older than it, used when it is not after the tick's first day, saved
   * a day before it; some ticks have no candidate and leave it alone) and compares every tick's
   * bursts with the one-pass scan of the whole history (burstsOf).
   */
  function replay(seed: number) {
    const requests = generate(seed, 14);
    const rng = random(seed + 1);
    let saved: ClientCheckpoint | undefined;
    let resumed = 0;
    let bursts = 0;
    let previous = START;
    for (let now = START + 3 * HOUR; now < START + 19 * DAY; now += HOUR + rng.int(5 * HOUR)) {
      const arrived = requests.filter((request) => request.arrival > previous && request.arrival <= now);
      previous = now;
      if (arrived.length === 0) continue;
      const slots = arrived.map((request) => slotOf(request.time));
      const firstSlot = Math.min(...slots);
      if (saved && firstSlot < absoluteSlot(saved.day, 0)) saved = undefined;
      if (rng.next() < 0.3) continue;
      const fromDay = isoDay((firstSlot - length) * SLOT_MS);
      const toDay = isoDay((Math.max(...slots) + length) * SLOT_MS);
      const usable = saved && saved.day <= fromDay ? saved : undefined;
      if (usable) resumed += 1;
      const checkpointDay = isoDay(Date.parse(fromDay) - DAY);
      const history = rollup(requests, now, toDay);
      const scans = scanClient(usable ? history.filter((row) => row.day >= usable.day) : history, usable, settings, checkpointDay);
      if (!usable || checkpointDay > usable.day) {
        saved = { day: checkpointDay, rules: '', builtAt: 0, scopes: new Map([...scans].map(([scope, scan]) => [scope, scan.checkpoint])) };
      }
      const touching = (found: readonly { start: number; end: number }[], touched: readonly number[]) =>
        found.filter((episode) => touched.some((slot) => slot >= episode.start && slot <= episode.end));
      const expected = burstsOf(history, slots, settings);
      expect(touching(scans.get('')?.found ?? [], slots), `seed ${seed}, tick ${new Date(now).toISOString()}`).toEqual(expected);
      bursts += expected.length;
      for (const credential of new Set(arrived.map((request) => request.credential).filter((id) => id !== ''))) {
        const touched = arrived.filter((request) => request.credential === credential).map((request) => slotOf(request.time));
        const expectedOfCredential = burstsOf(history.filter((row) => row.credential === credential), touched, settings);
        expect(touching(scans.get(credential)?.found ?? [], touched), `seed ${seed}, credential ${credential}, tick ${new Date(now).toISOString()}`)
          .toEqual(expectedOfCredential);
        bursts += expectedOfCredential.length;
      }
    }
    return { resumed, bursts };
  }

  it('finds, from a checkpoint, the bursts the whole history shows, late requests included (20 generated histories)', () => {
    let resumed = 0;
    let bursts = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const replayed = replay(seed);
      resumed += replayed.resumed;
      bursts += replayed.bursts;
    }
    // Not vacuous: most ticks resumed from a checkpoint, and there were bursts to find.
    expect(resumed).toBeGreaterThan(1_000);
    expect(bursts).toBeGreaterThan(20);
  });

  it('saves the slots runs after the checkpoint need, and keeps a long burst\'s waiting runs small', () => {
    const day = '2026-11-10';
    const dayStart = absoluteSlot(day, 0);
    const row = (asn: number, slots: number[], rowDay = day): SlotRow =>
      ({ tenant: 'acme', client_id: 'svc', day: rowDay, credential: '', asn, slots, as_org: '', country: '', first_ms: Date.parse(`${rowDay}T00:00:00Z`), last_ms: 0, requests: 1 });
    // Two networks in the last slots of the day before: the runs that end after midnight see them.
    const scans = scanClient([row(1, [SLOTS_PER_DAY - 2]), row(2, [SLOTS_PER_DAY - 1])], undefined, settings, '2026-11-11');
    const checkpoint = scans.get('')?.checkpoint as ScopeCheckpoint;
    expect(checkpoint.tail).toEqual([{ asn: 1, slots: [dayStart + SLOTS_PER_DAY - 2] }, { asn: 2, slots: [dayStart + SLOTS_PER_DAY - 1] }]);
    expect(checkpoint.firstMs).toBe(Date.parse(`${day}T00:00:00Z`));
    expect(checkpoint.state).not.toEqual(FIRST_SCAN_STATE);
    // A burst open for a whole day: its ordinary runs are kept as one.
    const longSettings = { ...settings, learning_days: 0, margin: 1 };
    const steady = Array.from({ length: SLOTS_PER_DAY }, (_, slot) => slot);
    const open = scanClient([row(1, steady), row(2, steady.filter((slot) => slot % 2 === 0)), row(3, [0], '2026-11-09')], undefined, longSettings, '2026-11-11');
    expect(open.get('')?.checkpoint.state.waiting.length).toBeLessThanOrEqual(length + 1);
  });

  it('resumes a burst that straddles the checkpoint\'s midnight with the start the whole history gives it', () => {
    const row = (rowDay: string, asn: number, slots: number[]): SlotRow =>
      ({ tenant: 'acme', client_id: 'svc', day: rowDay, credential: '', asn, slots, as_org: '', country: '', first_ms: Date.parse(`${rowDay}T00:00:00Z`), last_ms: 0, requests: 1 });
    const days = Array.from({ length: 10 }, (_, i) => isoDay(Date.UTC(2026, 10, 1 + i)));
    const every = Array.from({ length: SLOTS_PER_DAY }, (_, slot) => slot);
    // ASN 1 in every slot for ten days; 23:55 on the ninth day ASN 2, 00:00 on the tenth ASN 3.
    const before = [...days.slice(0, 9).map((day) => row(day, 1, every)), row('2026-11-09', 2, [SLOTS_PER_DAY - 1])];
    const after = [row('2026-11-10', 1, every), row('2026-11-10', 3, [0])];
    const rules = { ...settings, learning_days: 1 };
    const saved = scanClient(before, undefined, rules, '2026-11-10');
    const checkpoint: ClientCheckpoint = { day: '2026-11-10', rules: '', builtAt: 0, scopes: new Map([...saved].map(([scope, scan]) => [scope, scan.checkpoint])) };
    const resumed = scanClient(after, checkpoint, rules, '2026-11-10').get('')?.found;
    const whole = burstsOf([...before, ...after], [absoluteSlot('2026-11-10', 0)], rules);
    expect(whole).toHaveLength(1);
    expect(resumed).toEqual(whole);
  });

  it('holds at most its scopes and saved items (slot pairs and waiting runs), dropping the least recently used client first', () => {
    const scope = (pairs: number): ScopeCheckpoint => ({ state: FIRST_SCAN_STATE, tail: [{ asn: 1, slots: Array.from({ length: pairs }, (_, i) => i) }], firstMs: 0 });
    const client = (scopes: number, pairs = 1): ClientCheckpoint =>
      ({ day: '2026-11-10', rules: '', builtAt: 0, scopes: new Map(Array.from({ length: scopes }, (_, i) => [`key-${i}`, scope(pairs)])) });
    const cache = new ScanCache({ maxScopes: 10, maxSavedItems: 40 });
    for (let i = 0; i < 8; i++) cache.set(`c${i}`, client(2));
    expect(cache.size).toEqual({ clients: 5, scopes: 10, savedItems: 10 });
    expect(cache.get('c2')).toBeUndefined();
    // c3 was used: c4 goes first.
    cache.get('c3');
    cache.set('c8', client(1, 30));
    expect(cache.size.scopes).toBeLessThanOrEqual(10);
    expect(cache.size.savedItems).toBeLessThanOrEqual(40);
    expect(cache.dayOf('c3')).toBe('2026-11-10');
    expect(cache.dayOf('c4')).toBeUndefined();
    // A client bigger than the cache is not kept, and evicts nobody.
    const before = cache.size;
    cache.set('huge', client(11));
    expect(cache.dayOf('huge')).toBeUndefined();
    expect(cache.size).toEqual(before);
    // Waiting runs count as items too.
    cache.clear();
    const waiting = Array.from({ length: 3 }, (_, i) => ({ start: i, end: i + 2, asns: 1 }));
    cache.set('w', { day: '2026-11-10', rules: '', builtAt: 0, scopes: new Map([['', { state: { ...FIRST_SCAN_STATE, waiting }, tail: [], firstMs: 0 }]]) });
    expect(cache.size).toEqual({ clients: 1, scopes: 1, savedItems: 3 });
    cache.delete('w');
    expect(cache.size).toEqual({ clients: 0, scopes: 0, savedItems: 0 });
    cache.set('c9', client(1));
    cache.clear();
    expect(cache.size).toEqual({ clients: 0, scopes: 0, savedItems: 0 });
  });
});
