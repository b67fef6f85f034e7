import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { DAY_MS } from '@tokenwatch/shared/time';
import { ATTACK_FREE_DAYS, labelFor, planAttacks } from './attacks.js';
import { ATTACK_KINDS, type AttackKind, type AttackLabel } from './labels.js';
import { startEngine } from './start.js';
import { buildPopulation, type Population } from './population.js';
import { planScopeDeploy, type ScopeDeploy } from './usage.js';

/**
 * The traffic simulator: benign machine-client token requests across Okta, Auth0, Entra,
 * Keycloak and an assertion-tap tenant, with labeled attacks injected. Deterministic: the same
 * options give the same events, ids and labels, on every run and machine.
 *
 *   const { events, labels } = simulate({ seed: 1, start: Date.UTC(2026, 0, 5), days: 21 });
 *   for (const event of events) ...   // time-ordered, generated lazily
 *   labels                            // complete once events has been iterated to the end
 */

export { ATTACK_FINDINGS, ATTACK_KINDS, type AttackKind, type AttackLabel } from './labels.js';
export type { Client, Population, Tenant } from './population.js';
export { liveTraffic, populationEventsPerSecond, type LiveItem, type LiveOptions } from './live.js';
export { renderNative } from './native.js';

export interface SimulateOptions {
  readonly seed: number;
  /** Epoch ms of the first event's earliest time. */
  readonly start: number;
  readonly days: number;
  /** Default 300. */
  readonly clients?: number;
  /** Default 'all'. Attacks start after 8 days of history, so they need days >= 9. */
  readonly attacks?: 'all' | 'none' | readonly AttackKind[];
  /** Default 1: each kind once, each on its own client at its own time. */
  readonly attacksPerKind?: number;
  /** Scales per-request rates, instance counts and CI builds; default 1. */
  readonly volume?: number;
}

export interface Simulation {
  /** Time-ordered events; each iteration regenerates the same stream from scratch. */
  readonly events: Iterable<TokenRequestInput>;
  /**
   * One per injected attack, planned up front. `event_ids` (and the exact start/end) are filled
   * in while `events` is iterated: read them after the iteration.
   */
  readonly labels: readonly AttackLabel[];
  readonly population: Population;
  /**
   * Benign deploys that add a scope to a client (new_scope's look-alike), each announced by the
   * allowlist entry a team would write: pass `allowlist` into `detectors.allowlist`.
   */
  readonly scopeDeploys: readonly ScopeDeploy[];
  readonly allowlist: ReadonlyArray<ScopeDeploy['allowlist']>;
}

export function attackKinds(option: SimulateOptions['attacks']): readonly AttackKind[] {
  if (option === undefined || option === 'all') return ATTACK_KINDS;
  if (option === 'none') return [];
  return option;
}

export function simulate(options: SimulateOptions): Simulation {
  const { seed, start, days } = options;
  if (!Number.isInteger(seed)) throw new Error('seed must be an integer');
  if (!(days > 0)) throw new Error('days must be positive');
  const end = start + days * DAY_MS;
  const population = buildPopulation(seed, options.clients ?? 300, options.volume ?? 1);
  const plans = planAttacks(attackKinds(options.attacks), options.attacksPerKind ?? 1, population.clients, start, end, seed);
  const labels = plans.map((plan) => labelFor(plan, population.clients[plan.victim] as Population['clients'][number]));

  const deploy = planScopeDeploy(population.clients, new Set(plans.map((plan) => plan.victim)), start, end, ATTACK_FREE_DAYS);
  const scopeDeploys = deploy ? [deploy] : [];

  return {
    population,
    labels,
    scopeDeploys,
    allowlist: scopeDeploys.map((entry) => entry.allowlist),
    events: {
      *[Symbol.iterator]() {
        const { engine } = startEngine(population, plans, labels, seed, start, end, { scopeDeploys });
        for (let emitted = engine.next(); emitted !== undefined; emitted = engine.next()) yield emitted.event;
      },
    },
  };
}
