import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS } from '@tokenwatch/shared/time';
import type { ClientRuntime, Host } from './client.js';
import type { Engine, Source } from './engine.js';
import { ATTACK_FINDINGS, type AttackKind, type AttackLabel } from './labels.js';
import { ATTACKER_NETWORKS, hostIn, subnetOf, type Network } from './networks.js';
import type { Client } from './population.js';
import { Rng } from './prng.js';
import type { AssertionClaims } from './request.js';
import { sensitiveScopeFor, suitsNewScope, suitsNewUserAgent } from './usage.js';
import { userAgentFamily } from '@tokenwatch/shared/user-agent-family';

/**
 * Labeled attacks: which clients suit each kind, and the events each one adds to the stream.
 * Every attack uses the victim client's identity (its id, its credential id, its assertion for a
 * replay) and, except for a runaway mint burst, networks the victim never uses.
 */

/** History the detectors learn from before the first attack (secret_new_location learns 7 days). */
export const ATTACK_FREE_DAYS = 8;

const ATTACKER_AGENTS = ['python-requests/2.31.0', 'curl/8.4.0', 'Go-http-client/1.1', 'python-httpx/0.27.0', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'];

const SECRET_METHODS: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post', 'client_secret', 'unknown']);

/**
 * A dormant_client victim ran for 30 days, from 70 to 40 days before the simulation's start,
 * and then slept: its wake (the attack, at least 8 days into the simulation) ends a sleep of
 * over 48 days, past the detector's 30, whatever the simulation's length.
 */
const DORMANT_VICTIM_RAN_FROM_DAYS = 70;
const DORMANT_VICTIM_SLEPT_FROM_DAYS = 40;

const isSecretClient = (client: Client) => SECRET_METHODS.has(client.authMethod);
const asnsOf = (client: Client) => new Set(client.networks.map((network) => network.asn));
const countriesOf = (client: Client) => new Set(client.networks.map((network) => network.country));

/** One network per ASN. */
function distinctAsns(networks: readonly Network[]): Network[] {
  return [...new Map(networks.map((network) => [network.asn, network])).values()];
}

/** The span a victim's benign traffic is limited to, when the attack needs one. */
export function victimLifetime(plan: AttackPlan, start: number): { from: number; until: number } | undefined {
  if (plan.kind !== 'dormant_client') return undefined;
  return { from: start - DORMANT_VICTIM_RAN_FROM_DAYS * DAY_MS, until: start - DORMANT_VICTIM_SLEPT_FROM_DAYS * DAY_MS };
}

/** Attacker networks for the kind: abroad (new country), at home on another ASN, or anywhere foreign. */
function attackerNetworks(kind: AttackKind, client: Client): Network[] {
  const asns = asnsOf(client);
  const countries = countriesOf(client);
  const home = client.networks[0] as Network;
  switch (kind) {
    case 'secret_new_asn':
      return ATTACKER_NETWORKS.filter((network) => network.country === home.country && !asns.has(network.asn));
    case 'invalid_client_burst':
      return ATTACKER_NETWORKS.filter((network) => network.kind === 'hosting' && !asns.has(network.asn));
    case 'concurrent_networks':
      return ATTACKER_NETWORKS.filter((network) => !asns.has(network.asn));
    default:
      return ATTACKER_NETWORKS.filter((network) => !countries.has(network.country) && !asns.has(network.asn));
  }
}

/** Whether a client can be the victim of this kind of attack. */
export function suits(kind: AttackKind, client: Client): boolean {
  switch (kind) {
    case 'replay_accepted':
    case 'replay_rejected':
      // Only the tap tenant logs assertion jti values; the victim must request at least hourly.
      return client.tenant.idp === 'oidc-provider' && client.assertion !== undefined && client.kind !== 'batch' && client.kind !== 'ci' && client.meanPerMinute >= 1 / 60;
    case 'secret_new_country':
      return isSecretClient(client) && attackerNetworks(kind, client).length > 0;
    case 'secret_new_asn':
      return isSecretClient(client) && attackerNetworks(kind, client).length > 0;
    case 'mint_burst':
      // 20x of one request a minute is 100 per 5-minute bucket: the detector's absolute floor.
      return client.meanPerMinute >= 1;
    case 'new_credential':
      // A credential the IdP logs (Entra's key id, the tap's kid), and a client minting at least
      // hourly, so its own key is in use while the attacker's mints.
      return (
        (client.tenant.idp === 'entra' || (client.tenant.idp === 'oidc-provider' && client.assertion !== undefined)) &&
        client.schedule.type !== 'calendar' &&
        client.meanPerMinute >= 1 / 60 &&
        attackerNetworks(kind, client).length > 0
      );
    case 'dormant_client':
      // A weekly or monthly job already sleeps between runs; the victim is any other client.
      return client.schedule.type !== 'calendar';
    case 'new_scope':
      return suitsNewScope(client);
    case 'new_user_agent':
      return suitsNewUserAgent(client);
    case 'concurrent_networks':
      // The victim keeps minting from home, often enough to be seen beside the attacker, from
      // at most two ASNs (so three new ones are news), and three attacker ASNs are left.
      return client.schedule.type !== 'calendar' && client.meanPerMinute >= 0.2 && asnsOf(client).size <= 2 && distinctAsns(attackerNetworks(kind, client)).length >= 3;
    case 'invalid_client_burst':
      // Guessing a secret; only Okta and the tap report it as invalid_client (Auth0 says
      // "Unauthorized", Entra an AADSTS number, Keycloak invalid_client_credentials).
      return isSecretClient(client) && (client.tenant.idp === 'okta' || client.tenant.idp === 'oidc-provider');
  }
}

/** An attack's events at planned times, built when they are due (the victim's state is current then). */
class TimedAttack implements Source {
  private readonly times: number[];
  nextTime: number;
  constructor(
    times: number[],
    private readonly build: (time: number, index: number) => TokenRequestInput,
    readonly order: number,
    readonly label: AttackLabel,
  ) {
    this.times = [...times].sort((a, b) => b - a);
    this.nextTime = this.times[this.times.length - 1] ?? Infinity;
  }

  private taken = 0;

  take(): TokenRequestInput {
    const time = this.times.pop() as number;
    this.nextTime = this.times[this.times.length - 1] ?? Infinity;
    return this.build(time, this.taken++);
  }

  onExhausted(): void {}
}

function attackerHosts(network: Network, count: number, rng: Rng): Host[] {
  const subnet = subnetOf(network, () => rng.float());
  return Array.from({ length: count }, () => ({ ip: hostIn(subnet, () => rng.float()), network }));
}

/** `count` times spread at random over [start, start + span). */
function spread(start: number, span: number, count: number, rng: Rng): number[] {
  return Array.from({ length: count }, () => Math.floor(start + rng.float() * span));
}

export interface AttackPlan {
  readonly kind: AttackKind;
  /** The victim's index in the population. */
  readonly victim: number;
  readonly start: number;
  readonly id: string;
  /** Tie-break order of the attack's source in the engine, and its generator stream. */
  readonly order: number;
  readonly seed: number;
  /** Replays only: re-sent this long after the original use at the latest (default 90 s; never past the assertion's exp). */
  readonly replayWithinMs?: number;
}

/** The attack's label with its planned window; launch() fills it in. */
export function labelFor(plan: AttackPlan, client: Client): AttackLabel {
  return {
    id: plan.id,
    kind: plan.kind,
    finding: ATTACK_FINDINGS[plan.kind],
    tenant: client.tenant.tenant,
    client_id: client.clientId,
    start: plan.start,
    end: plan.start,
    event_ids: [],
  };
}

/**
 * Adds the attack to the engine (a timed source, or for a replay a tap on the victim), resetting
 * and then filling `label` as its events are generated.
 */
export function launch(plan: AttackPlan, victim: ClientRuntime, engine: Engine, label: AttackLabel): void {
  const { kind, start } = plan;
  const rng = new Rng(plan.seed, plan.order);
  const client = victim.client;
  label.event_ids.length = 0;
  label.start = start;
  label.end = start;
  const network = rng.pick(attackerNetworks(kind, client));
  const agent = rng.pick(ATTACKER_AGENTS);

  switch (kind) {
    case 'replay_accepted':
    case 'replay_rejected': {
      const accepted = kind === 'replay_accepted';
      const [host] = attackerHosts(network, 1, rng) as [Host];
      label.end = start + 2 * HOUR_MS;
      victim.addTap({
        after: start,
        onEvent: (original, claims) => {
          if (claims === undefined) return;
          engine.claim(original, label);
          const time = original.time as number;
          // Re-sent while the assertion is still valid: between 3 s later and its exp.
          const latest = Math.min(claims.exp * SECOND_MS - 1_000, time + (plan.replayWithinMs ?? 90 * SECOND_MS));
          const count = accepted ? rng.int(1, 2) : rng.int(1, 3);
          const times = spread(time + 3 * SECOND_MS, Math.max(1_000, latest - time - 3 * SECOND_MS), count, rng);
          const reported = !accepted && rng.chance(0.5);
          engine.add(new TimedAttack(times, (at) => replay(victim, at, host, agent, claims, accepted, reported), plan.order, label));
        },
      });
      return;
    }
    case 'secret_new_country':
    case 'secret_new_asn':
    case 'dormant_client': {
      // dormant_client: an old client's credential, found in a forgotten repository or CI
      // variable, used from the attacker's network (the victim has slept since before start).
      const hosts = attackerHosts(network, rng.int(1, 2), rng);
      const span = rng.int(2, 8) * MINUTE_MS;
      const times = spread(start, span, rng.int(3, 10), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at) => victim.request(at, { host: rng.pick(hosts), userAgent: agent }), plan.order, label));
      return;
    }
    case 'new_scope': {
      // A foothold on the client's own host (or its secret used from there) asking for an
      // admin or export scope: only the scope is off.
      const scopes = [...client.scopes, sensitiveScopeFor(client)];
      const span = rng.int(2, 8) * MINUTE_MS;
      const times = spread(start, span, rng.int(2, 6), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at) => victim.request(at, { scopes }), plan.order, label));
      return;
    }
    case 'new_user_agent': {
      // The client's stolen secret or key, used with the attacker's own tool (never the
      // client's software family) from a network the client never uses.
      const own = userAgentFamily(victim.userAgent);
      const tool = userAgentFamily(agent) !== own ? agent : (ATTACKER_AGENTS.find((candidate) => userAgentFamily(candidate) !== own) as string);
      const hosts = attackerHosts(network, rng.int(1, 2), rng);
      const span = rng.int(2, 8) * MINUTE_MS;
      const times = spread(start, span, rng.int(3, 10), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at) => victim.request(at, { host: rng.pick(hosts), userAgent: tool }), plan.order, label));
      return;
    }
    case 'concurrent_networks': {
      // Salesloft Drift: the connector's stolen token or secret used from three or four rented
      // networks within minutes, while the connector itself keeps minting from home.
      const networks = rng.shuffle(distinctAsns(attackerNetworks(kind, client))).slice(0, rng.int(3, 4));
      const hosts = networks.flatMap((attacker) => attackerHosts(attacker, 1, rng));
      const span = rng.int(3, 6) * MINUTE_MS;
      const times = spread(start, span, hosts.length * rng.int(2, 4), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at, index) => victim.request(at, { host: hosts[index % hosts.length] as Host, userAgent: agent }), plan.order, label));
      return;
    }
    case 'new_credential': {
      // A key added to the application by someone who can edit it (Midnight Blizzard), used
      // from the attacker's network while the owners' key keeps minting from theirs.
      const hosts = attackerHosts(network, rng.int(1, 2), rng);
      const credential = client.tenant.idp === 'entra' ? rng.uuid() : `${client.assertion?.kidPrefix ?? ''}${rng.uuid().slice(0, 8)}`;
      const span = rng.int(5, 30) * MINUTE_MS;
      const times = spread(start, span, rng.int(3, 10), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at) => victim.request(at, { host: rng.pick(hosts), userAgent: agent, credential }), plan.order, label));
      return;
    }
    case 'mint_burst': {
      const multiple = rng.range(20, 50);
      const span = rng.int(10, 20) * MINUTE_MS;
      const perMinute = client.meanPerMinute * multiple;
      const times = spread(start, span, Math.round(perMinute * (span / MINUTE_MS)), rng);
      label.end = start + span;
      // A runaway loop (or a leaked key used from the client's own hosts): only the volume is off.
      engine.add(new TimedAttack(times, (at) => victim.request(at), plan.order, label));
      return;
    }
    case 'invalid_client_burst': {
      const hosts = attackerHosts(network, rng.int(1, 2), rng);
      const span = rng.int(5, 10) * MINUTE_MS;
      const times = spread(start, span, rng.int(200, 600), rng);
      label.end = start + span;
      engine.add(new TimedAttack(times, (at) => victim.request(at, { host: rng.pick(hosts), userAgent: agent, failure: 'bad_credential' }), plan.order, label));
      return;
    }
  }
}

function replay(victim: ClientRuntime, time: number, host: Host, agent: string, claims: AssertionClaims, accepted: boolean, reported: boolean): TokenRequestInput {
  return victim.request(time, {
    host,
    userAgent: agent,
    assertion: claims,
    ...(accepted ? {} : { failure: 'bad_credential' as const, replayReported: reported }),
  });
}

/**
 * Victims and times for a batch simulation: each attack on its own client, at its own time in
 * [start + 8 days, end - 2 h), spread over that window in random order.
 */
export function planAttacks(
  kinds: readonly AttackKind[],
  perKind: number,
  clients: readonly Client[],
  start: number,
  end: number,
  seed: number,
): AttackPlan[] {
  if (kinds.length === 0 || perKind <= 0) return [];
  const rng = new Rng(seed, 0xa77ac4);
  const windowStart = start + ATTACK_FREE_DAYS * DAY_MS;
  const windowEnd = end - 2 * HOUR_MS;
  if (windowEnd <= windowStart) throw new Error(`attacks need more than ${ATTACK_FREE_DAYS} days of history: simulate at least ${ATTACK_FREE_DAYS + 1} days`);
  const order = rng.shuffle(kinds.flatMap((kind) => Array.from({ length: perKind }, () => kind)));
  const slot = (windowEnd - windowStart) / order.length;
  const used = new Set<number>();
  return order.map((kind, k) => {
    const candidates = rng.shuffle(clients.filter((client) => !used.has(client.index) && suits(kind, client)));
    const victim = candidates[0];
    if (victim === undefined) throw new Error(`no client left that suits a ${kind} attack: simulate more clients or fewer attacks per kind`);
    used.add(victim.index);
    return {
      kind,
      victim: victim.index,
      start: Math.floor(windowStart + (k + rng.range(0.1, 0.6)) * slot),
      id: `atk-${seed}-${k}`,
      order: 1_000_000 + k,
      seed,
    };
  });
}
