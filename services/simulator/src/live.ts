import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { MINUTE_MS, DAY_MS } from '@tokenwatch/shared/time';
import { labelFor, launch, suits, type AttackPlan } from './attacks.js';
import { ATTACK_KINDS, type AttackKind, type AttackLabel } from './labels.js';
import { buildPopulation } from './population.js';
import { Rng } from './prng.js';
import { startEngine } from './start.js';

/**
 * Live traffic for the demo: the same population as simulate() with the same seed, paced to the
 * wall clock, with an attack every few minutes (kinds in turn, victims rotating). Optionally
 * starts with `historyDays` of backfill, emitted at once, so detectors have a baseline: the
 * secret_new_location detector learns for 7 days before it alerts, the others need far less.
 *
 * Time to the first alert: the first attack is a replay (it needs no baseline) on the client
 * whose next request comes soonest, re-sent within seconds, placed in the first minute of the
 * backfill (so the detectors find it while the rest of the history is still arriving), or
 * without history in the minute before the live start, emitted at once.
 */

export interface LiveOptions {
  readonly seed?: number;
  readonly clients?: number;
  /** Target mean events per second (sets the volume knob); default: the population's own rate. */
  readonly eventsPerSecond?: number;
  /** Days of history emitted at once before the live part; default 0. */
  readonly historyDays?: number;
  /** Minutes between attacks in the live part; 0 disables them. Default 5. */
  readonly attackEveryMinutes?: number;
  readonly attacks?: readonly AttackKind[];
  /** The clock (tests pass a fake one). */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

export type LiveItem =
  | { readonly type: 'event'; readonly event: TokenRequestInput; readonly label?: AttackLabel }
  /** An attack whose last event has been emitted: its label is complete. */
  | { readonly type: 'label'; readonly label: AttackLabel };

/**
 * The kinds the live part injects by default: all but dormant_client, whose victim must have
 * slept for a month before the attack, which a client running live since the start has not.
 * (Giving one a month-old history would make the first detector tick examine that month, 6
 * hours at a time, and keep the demo's first alert waiting for minutes.) For the same reason
 * the live part emits no history before `historyDays`, weekly and monthly jobs' neither.
 */
export const LIVE_ATTACK_KINDS: readonly AttackKind[] = ATTACK_KINDS.filter((kind) => kind !== 'dormant_client');

/** Victims are not reused until this many other attacks have run. */
const VICTIM_COOLDOWN = 8;

/**
 * Without history the traffic still starts this far in the past, emitted at once: the first
 * attack replays an assertion its victim used moments before, so it is due at once instead of
 * at the victim's next request.
 */
const LEAD_MS = MINUTE_MS;

/** Kinds whose finding needs no learnt baseline: the only ones placed in the history's first minute. */
const NO_BASELINE_KINDS: ReadonlySet<AttackKind> = new Set(['replay_accepted', 'replay_rejected']);

/**
 * The first attack's replays are re-sent within this long of the original use (the others
 * within 90 s, as in simulate()): the demo's first alert waits on it.
 */
const FIRST_REPLAY_WITHIN_MS = 10_000;

/** The population's own mean rate (events per second at volume 1), e.g. to estimate a backfill's size. */
export function populationEventsPerSecond(seed: number, clients: number): number {
  return buildPopulation(seed, clients).clients.reduce((sum, client) => sum + client.meanPerMinute, 0) / 60;
}

export async function* liveTraffic(options: LiveOptions = {}): AsyncGenerator<LiveItem> {
  const seed = options.seed ?? 1;
  const clients = options.clients ?? 300;
  const now = options.now ?? Date.now;
  const every = (options.attackEveryMinutes ?? 5) * MINUTE_MS;
  const kinds = options.attacks ?? LIVE_ATTACK_KINDS;
  const volume = options.eventsPerSecond === undefined ? 1 : options.eventsPerSecond / populationEventsPerSecond(seed, clients);
  const population = buildPopulation(seed, clients, volume);
  const liveStart = now();
  const historyStart = liveStart - Math.max((options.historyDays ?? 0) * DAY_MS, LEAD_MS);
  const { engine, runtimes } = startEngine(population, [], [], seed, historyStart, Infinity, { priorHistory: false });
  const rng = new Rng(seed, 0x11fe);
  const recent: number[] = [];
  // The first attack at once: in the history's first minute when there is one and the first
  // kind needs no baseline (a replay), else at the live start. The rest follow `every` apart
  // from the live start.
  const inHistory = historyStart < liveStart && NO_BASELINE_KINDS.has(kinds[0] as AttackKind);
  let nextAttack = inHistory ? historyStart : liveStart;
  let attacks = 0;

  while (!options.signal?.aborted) {
    const due = engine.peekTime();
    if (every > 0 && kinds.length > 0 && due >= nextAttack - MINUTE_MS) {
      const kind = kinds[attacks % kinds.length] as AttackKind;
      const candidates = population.clients.filter((client) => suits(kind, client) && !recent.includes(client.index));
      // The first victim is the one whose next request comes soonest: a replay waits for the
      // victim's next request, and a client that asks once an hour would keep the first alert
      // waiting.
      const victim =
        candidates.length === 0
          ? undefined
          : attacks === 0
            ? candidates.reduce((soonest, client) => (runtimes[client.index]!.nextTime < runtimes[soonest.index]!.nextTime ? client : soonest))
            : rng.pick(candidates);
      if (victim !== undefined) {
        const plan: AttackPlan = {
          kind,
          victim: victim.index,
          start: nextAttack,
          id: `live-${seed}-${attacks}`,
          order: 1_000_000 + attacks,
          seed,
          ...(attacks === 0 ? { replayWithinMs: FIRST_REPLAY_WITHIN_MS } : {}),
        };
        launch(plan, runtimes[victim.index]!, engine, labelFor(plan, victim));
        recent.push(victim.index);
        if (recent.length > VICTIM_COOLDOWN) recent.shift();
      }
      attacks += 1;
      nextAttack = nextAttack < liveStart ? liveStart + every : nextAttack + every;
      continue;
    }
    const wait = due - now();
    if (wait > 0) {
      try {
        await sleep(Math.min(wait, 1_000), undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return; // aborted
      }
      continue;
    }
    const emitted = engine.next();
    if (emitted === undefined) return;
    yield emitted.label ? { type: 'event', event: emitted.event, label: emitted.label } : { type: 'event', event: emitted.event };
    for (const label of emitted.completed ?? []) yield { type: 'label', label };
  }
}
