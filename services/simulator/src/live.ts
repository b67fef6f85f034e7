import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { MINUTE_MS, DAY_MS } from '@tokenwatch/shared/time';
import { labelFor, launch, suits, type AttackPlan } from './attacks.js';
import { ATTACK_KINDS, type AttackKind, type AttackLabel } from './labels.js';
import { buildPopulation, type Client } from './population.js';
import { Rng } from './prng.js';
import { startEngine } from './start.js';

/**
 * Live traffic for the demo: the same population as simulate() with the same seed, paced to the
 * wall clock, with an attack every few minutes (kinds in turn, victims rotating). Optionally
 * starts with `historyDays` of backfill, emitted at once, so detectors have a baseline: the
 * secret_new_location detector learns for 7 days before it alerts, the others need far less.
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
 * dormant_client's victim must have slept for a month before its wake, which a client running
 * live cannot have: it is chosen at the start (its history ends 40 days before the live start)
 * and woken once, this long after the start, instead of taking a turn in the rotation.
 */
const DORMANT_WAKE_AFTER_ATTACKS = 2;

/** Victims are not reused until this many other attacks have run. */
const VICTIM_COOLDOWN = 8;

const FIRST_ATTACK_AFTER_MS = 20_000;

export async function* liveTraffic(options: LiveOptions = {}): AsyncGenerator<LiveItem> {
  const seed = options.seed ?? 1;
  const clients = options.clients ?? 300;
  const now = options.now ?? Date.now;
  const every = (options.attackEveryMinutes ?? 5) * MINUTE_MS;
  const kinds = (options.attacks ?? ATTACK_KINDS).filter((kind) => kind !== 'dormant_client');
  const wakesDormant = (options.attacks ?? ATTACK_KINDS).includes('dormant_client') && every > 0;
  let volume = 1;
  if (options.eventsPerSecond !== undefined) {
    const perSecond = buildPopulation(seed, clients).clients.reduce((sum, client) => sum + client.meanPerMinute, 0) / 60;
    volume = options.eventsPerSecond / perSecond;
  }
  const population = buildPopulation(seed, clients, volume);
  const liveStart = now();
  // The quietest client that suits: its month of old history is emitted at once, before the rest.
  const sleeper = wakesDormant
    ? population.clients.filter((client) => suits('dormant_client', client)).reduce<Client | undefined>((quietest, client) => (quietest === undefined || client.meanPerMinute < quietest.meanPerMinute ? client : quietest), undefined)
    : undefined;
  const dormantPlans: AttackPlan[] = sleeper
    ? [{ kind: 'dormant_client', victim: sleeper.index, start: liveStart + Math.min(every, FIRST_ATTACK_AFTER_MS) + DORMANT_WAKE_AFTER_ATTACKS * every - every / 2, id: `live-${seed}-dormant`, order: 999_999, seed }]
    : [];
  const { engine, runtimes } = startEngine(
    population,
    dormantPlans,
    dormantPlans.map((plan) => labelFor(plan, population.clients[plan.victim]!)),
    seed,
    liveStart - (options.historyDays ?? 0) * DAY_MS,
    Infinity,
  );
  const rng = new Rng(seed, 0x11fe);
  // The sleeper is never another attack's victim: its benign traffic ended long ago.
  const excluded = new Set(dormantPlans.map((plan) => plan.victim));
  const recent: number[] = [];
  // The first attack (a replay: it needs no history) comes soon after the live start, so a
  // newcomer sees an alert within a minute of the traffic going live; the rest follow `every`.
  let nextAttack = liveStart + Math.min(every, FIRST_ATTACK_AFTER_MS);
  let attacks = 0;

  while (!options.signal?.aborted) {
    const due = engine.peekTime();
    if (every > 0 && kinds.length > 0 && due >= nextAttack - MINUTE_MS) {
      const kind = kinds[attacks % kinds.length] as AttackKind;
      const candidates = population.clients.filter((client) => suits(kind, client) && !recent.includes(client.index) && !excluded.has(client.index));
      // The first victim is the busiest one that suits: a replay waits for the victim's next
      // request, and a client that asks once an hour would keep the first alert waiting.
      const victim =
        candidates.length === 0
          ? undefined
          : attacks === 0
            ? candidates.reduce((busiest, client) => (client.meanPerMinute > busiest.meanPerMinute ? client : busiest))
            : rng.pick(candidates);
      if (victim !== undefined) {
        const plan: AttackPlan = { kind, victim: victim.index, start: nextAttack, id: `live-${seed}-${attacks}`, order: 1_000_000 + attacks, seed };
        launch(plan, runtimes[victim.index]!, engine, labelFor(plan, victim));
        recent.push(victim.index);
        if (recent.length > VICTIM_COOLDOWN) recent.shift();
      }
      attacks += 1;
      nextAttack += every;
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
