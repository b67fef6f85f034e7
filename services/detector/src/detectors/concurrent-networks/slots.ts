/**
 * The window logic of concurrent_networks, on the client_asn_slots rollup's 5-minute slots
 * (migration 0013). A slot is a number: whole 5-minute steps since the epoch.
 *
 * Windows slide over slots: a window of w minutes is read as ceil(w / 5) + 1 consecutive
 * slots, because a burst that fits inside w minutes touches at most that many slots whatever
 * its alignment (a 10-minute burst from 12:03 to 12:13 touches 12:00, 12:05 and 12:10). A run
 * may therefore hold requests up to 5 minutes more than w apart; the history and the burst are
 * measured the same way, so the comparison stays like for like.
 */

export const SLOT_MINUTES = 5;
export const SLOT_MS = SLOT_MINUTES * 60_000;
/** Slots in a day: the rollup stores a day's slot numbers 0..287. */
export const SLOTS_PER_DAY = (24 * 60) / SLOT_MINUTES;

/** How many consecutive slots a window of `windowMinutes` is read as. */
export function runLength(windowMinutes: number): number {
  return Math.ceil(windowMinutes / SLOT_MINUTES) + 1;
}

export const slotOf = (ms: number): number => Math.floor(ms / SLOT_MS);
export const slotStartMs = (slot: number): number => slot * SLOT_MS;

/** The absolute slot of slot-of-day `slot` on `day` (YYYY-MM-DD, as the rollup returns it). */
export function absoluteSlot(day: string, slot: number): number {
  return (Date.parse(`${day}T00:00:00Z`) / (24 * 3_600_000)) * SLOTS_PER_DAY + slot;
}

/** One ASN's active slots (absolute), as rollup rows give them. */
export interface AsnSlots {
  readonly asn: number;
  readonly slots: readonly number[];
}

/** Slot -> the ASNs active in it, merging rows (days, credentials) of one scope. */
export function slotTimeline(rows: readonly AsnSlots[]): Map<number, Set<number>> {
  const timeline = new Map<number, Set<number>>();
  for (const row of rows) {
    for (const slot of row.slots) {
      const asns = timeline.get(slot) ?? new Set<number>();
      asns.add(row.asn);
      timeline.set(slot, asns);
    }
  }
  return timeline;
}

/** A run of `length` slots ending at `end`, and the distinct ASNs active in it. */
export interface Run {
  readonly start: number;
  readonly end: number;
  readonly asns: number;
}

/**
 * Every run that ends at an active slot (the maxima are all among them), in time order: a
 * sliding count per ASN, linear in the number of (slot, ASN) pairs.
 */
export function runs(timeline: ReadonlyMap<number, ReadonlySet<number>>, length: number): Run[] {
  const active = [...timeline.keys()].sort((a, b) => a - b);
  const inRun = new Map<number, number>();
  const result: Run[] = [];
  let tail = 0;
  for (const end of active) {
    for (const asn of timeline.get(end) ?? []) inRun.set(asn, (inRun.get(asn) ?? 0) + 1);
    for (; (active[tail] ?? end) <= end - length; tail++) {
      for (const asn of timeline.get(active[tail] ?? end) ?? []) {
        const left = (inRun.get(asn) ?? 0) - 1;
        if (left > 0) inRun.set(asn, left);
        else inRun.delete(asn);
      }
    }
    result.push({ start: end - length + 1, end, asns: inRun.size });
  }
  return result;
}

/** The most distinct ASNs of any run containing one of `touched` slots (0 if none). */
export function mostAsnsAround(timeline: ReadonlyMap<number, ReadonlySet<number>>, length: number, touched: readonly number[]): number {
  const touchedSet = new Set(touched);
  let most = 0;
  for (const run of runs(timeline, length)) {
    for (let slot = run.start; slot <= run.end; slot++) {
      if (touchedSet.has(slot)) {
        most = Math.max(most, run.asns);
        break;
      }
    }
  }
  return most;
}

/** A burst: overlapping runs with margin more ASNs than the scope's history ever showed. */
export interface Episode {
  /** First active slot of its first run: the alert's stable key. */
  readonly start: number;
  /** Last slot of its last run. */
  readonly end: number;
  /** The most distinct ASNs of one of its runs. */
  readonly asns: number;
  /** The most distinct ASNs of a run before it (its history's usual maximum). */
  readonly usual: number;
}

export interface EpisodeRules {
  readonly length: number;
  readonly margin: number;
  /** Slots before which nothing is judged (the scope's first slot plus its learning period). */
  readonly learnedFrom: number;
}

/**
 * The bursts of one scope, in one pass over its whole history: a run is anomalous when it has
 * at least `margin` more ASNs than every run before the current burst (and the scope has
 * learnt). Overlapping anomalous runs are one burst, so a burst that straddles a slot, a tick
 * or a day boundary is one alert. A burst joins the history once it is over: a client that
 * really moved to four providers alerts once, then has learnt.
 */
export function episodes(timeline: ReadonlyMap<number, ReadonlySet<number>>, rules: EpisodeRules): Episode[] {
  return resumeEpisodes(timeline, rules, { from: -Infinity, state: FIRST_SCAN_STATE }).found;
}

/**
 * What the scan of episodes() knows before the runs that end at a given slot: all a later
 * tick needs to go on from there without the history before it (ScanCache keeps it).
 */
export interface ScanState {
  /** The most ASNs of a run that has joined the history. */
  readonly usual: number;
  /** Ordinary runs not yet joined (they overlap the run being judged, or a burst is open). */
  readonly waiting: readonly Run[];
  /** The burst still open, if any. */
  readonly open: Episode | undefined;
}

export const FIRST_SCAN_STATE: ScanState = { usual: 0, waiting: [], open: undefined };

/**
 * episodes() from a saved state: judges only the runs that end at `from` or later, given the
 * scan's state before them and a timeline that holds every slot from `from - length + 1` on
 * (older slots may be missing: no judged run reads them). With `checkpoint`, also returns the
 * state before the runs that end at that slot (at or after `from`), for the next tick.
 * resumeEpisodes(t, r, { from: -Infinity, state: FIRST_SCAN_STATE }) is the one-pass scan.
 */
export function resumeEpisodes(
  timeline: ReadonlyMap<number, ReadonlySet<number>>,
  rules: EpisodeRules,
  start: { readonly from: number; readonly state: ScanState },
  checkpoint?: number,
): { found: Episode[]; state?: ScanState } {
  const found: Episode[] = [];
  let usual = start.state.usual;
  // Ordinary runs join the history only once they no longer overlap the run being judged: the
  // first runs of a burst (two networks of four) must not raise the bar for the rest of it.
  const waiting: Run[] = [...start.state.waiting];
  let open: { start: number; end: number; asns: number; usual: number } | undefined = start.state.open && { ...start.state.open };
  let saved: ScanState | undefined;
  const save = (at: number): ScanState => ({ usual, waiting: compact(waiting, at - rules.length + 1), open: open && { ...open } });
  for (const run of runs(timeline, rules.length)) {
    if (run.end < start.from) continue;
    if (checkpoint !== undefined && saved === undefined && run.end >= checkpoint) saved = save(checkpoint);
    if (open && run.end - open.end >= rules.length) {
      found.push({ start: open.start, end: open.end, asns: open.asns, usual: open.usual });
      usual = Math.max(usual, open.asns);
      open = undefined;
    }
    // While a burst is open its bar stays where it was when it began.
    while (!open && waiting[0] && waiting[0].end < run.start) usual = Math.max(usual, waiting.shift()?.asns ?? 0);
    const anomalous = run.end >= rules.learnedFrom && run.asns >= usual + rules.margin;
    if (anomalous && open) {
      open.end = run.end;
      open.asns = Math.max(open.asns, run.asns);
    } else if (anomalous) {
      open = { start: firstActive(timeline, run), end: run.end, asns: run.asns, usual };
    } else {
      waiting.push(run);
    }
  }
  if (checkpoint !== undefined && saved === undefined) saved = save(checkpoint);
  if (open) found.push({ start: open.start, end: open.end, asns: open.asns, usual: open.usual });
  return saved ? { found, state: saved } : { found };
}

/**
 * Waiting runs that end before `firstStart` (the earliest start of a later run) all join the
 * history at the same moment, the first time no burst is open: one run with their largest
 * count stands for them, so a state saved during a long burst stays small.
 */
function compact(waiting: readonly Run[], firstStart: number): Run[] {
  const done = waiting.filter((run) => run.end < firstStart);
  if (done.length <= 1) return [...waiting];
  const last = done[done.length - 1] as Run;
  return [{ start: last.start, end: last.end, asns: done.reduce((most, run) => Math.max(most, run.asns), 0) }, ...waiting.slice(done.length)];
}

function firstActive(timeline: ReadonlyMap<number, ReadonlySet<number>>, run: Run): number {
  for (let slot = run.start; slot <= run.end; slot++) if (timeline.has(slot)) return slot;
  return run.end;
}
