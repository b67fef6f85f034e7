import { DAY_MS } from '@tokenwatch/shared/time';
import { launch, victimLifetime, type AttackPlan } from './attacks.js';
import { ClientRuntime } from './client.js';
import { Engine } from './engine.js';
import type { AttackLabel } from './labels.js';
import type { Population } from './population.js';
import type { ScopeDeploy } from './usage.js';
import { plannedRotation } from './rotations.js';

/** An engine with every client's benign stream and the planned attacks in it. */
export function startEngine(
  population: Population,
  plans: readonly AttackPlan[],
  labels: readonly AttackLabel[],
  seed: number,
  start: number,
  end: number,
  /** Whether clients with history days (weekly and monthly jobs) start that long before `start`. */
  { priorHistory = true, scopeDeploys = [] }: { priorHistory?: boolean; scopeDeploys?: readonly ScopeDeploy[] } = {},
): { engine: Engine; runtimes: ClientRuntime[] } {
  const engine = new Engine(seed, end);
  const lifetimes = new Map(plans.map((plan) => [plan.victim, victimLifetime(plan, start)] as const));
  const runtimes = population.clients.map(
    (client) => new ClientRuntime(client, seed, start - (priorHistory ? client.historyDays * DAY_MS : 0), lifetimes.get(client.index), plannedRotation(client, start)),
  );
  for (const deploy of scopeDeploys) runtimes[deploy.client]?.addScope(deploy.at, deploy.scope);
  plans.forEach((plan, i) => launch(plan, runtimes[plan.victim] as ClientRuntime, engine, labels[i] as AttackLabel));
  for (const runtime of runtimes) engine.add(runtime);
  return { engine, runtimes };
}
