import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { DAY_MS } from '@tokenwatch/shared/time';
import { hostIn, subnetOf, type Network } from './networks.js';
import type { Client } from './population.js';
import { Rng } from './prng.js';
import { buildEvent, type AssertionClaims, type FailureKind, type RequestContext } from './request.js';
import { rotatedCredentialId } from './rotations.js';
import { requestSource, type RequestSource } from './schedules.js';
import { scopesAt, upgraded } from './usage.js';

/**
 * One client's benign traffic as it runs: its addresses (growing with autoscaling, always in
 * its own networks), its deploys (user agent version), its credential and key rotations, and
 * the next request time. Attacks borrow it to build requests with the client's identity.
 */

const MAX_HOSTS = 48;

export interface Host {
  readonly ip: string;
  readonly network: Network;
}

export interface RequestOverrides {
  readonly host?: Host;
  readonly userAgent?: string;
  readonly failure?: FailureKind;
  /** Re-send this exact assertion instead of signing a fresh one (a replay). */
  readonly assertion?: AssertionClaims;
  readonly replayReported?: boolean;
  /** Ask for these scopes instead of the client's own. */
  readonly scopes?: readonly string[];
  /**
   * A credential the client's owners never issued (an attacker-added key): the credential id
   * where the IdP logs one, else the kid of the assertion signed for this request.
   */
  readonly credential?: string;
}

/** Called with a successful benign request at or after `after`; returns what to tag it with. */
export interface SuccessTap {
  readonly after: number;
  readonly onEvent: (event: TokenRequestInput, claims: AssertionClaims | undefined) => void;
}

export class ClientRuntime {
  /** Time of the next benign request (epoch ms). */
  nextTime: number;
  private readonly rng: Rng;
  private readonly source: RequestSource;
  private readonly subnets: Map<string, number[]> = new Map();
  private readonly hosts: Host[] = [];
  private version: [number, number, number];
  private userAgentText = '';
  private credentialId: string | undefined;
  private keyGeneration: number;
  private nextDeploy: number;
  private nextGrowth: number;
  private nextRotation: number;
  /** A rotation planned for the simulation (rotations.ts), once; Infinity: none. */
  private plannedRotation: number;
  private taps: SuccessTap[] = [];
  private deploys = 0;
  /** Scopes added by deploys (addScope), each from its time on. */
  private readonly addedScopes: Array<{ readonly at: number; readonly scope: string }> = [];
  /** The claims of the last assertion this client signed (tap tenant only). */
  lastAssertion: AssertionClaims | undefined;

  /** Benign requests stop here: a client retired (or left to sleep) before the simulation ends. */
  private readonly until: number;

  /**
   * `lifetime` replaces the client's own span (from `start` to the end): a dormant_client
   * victim runs for a while long before the start, then sleeps.
   */
  constructor(
    readonly client: Client,
    seed: number,
    clientStart: number,
    lifetime?: { readonly from: number; readonly until: number },
    plannedRotation?: number,
  ) {
    const start = lifetime?.from ?? clientStart;
    this.until = lifetime?.until ?? Infinity;
    this.rng = new Rng(seed, 0x5eed0000 + client.index);
    const rng = this.rng;
    for (const network of client.networks) this.subnets.set(network.id, [subnetOf(network, () => rng.float())]);
    const initialHosts = client.kind === 'batch' || client.kind === 'cron' ? rng.int(1, 2) : rng.int(1, 6);
    for (let i = 0; i < initialHosts; i++) this.addHost();
    // A multi-region client runs in every one of its regions from the start.
    if (client.networks.length >= 3) for (const network of client.networks) this.addHost(network);
    this.version = [rng.int(0, 4), rng.int(0, 30), rng.int(0, 20)];
    this.refreshUserAgent();
    this.credentialId = client.tenant.idp === 'entra' ? rng.uuid() : undefined;
    this.keyGeneration = rng.int(1, 40);
    this.nextDeploy = start + rng.exp(3 * DAY_MS);
    this.nextGrowth = start + rng.exp(2 * DAY_MS);
    this.nextRotation = start + rng.range(3, 90) * DAY_MS;
    this.plannedRotation = plannedRotation ?? Infinity;
    const home = client.networks[0] as Network;
    this.source = requestSource(client.schedule, start, home.utcOffsetHours, rng.fork(7));
    this.nextTime = this.scheduled(this.source.next());
  }

  /** A planned request time, or Infinity (no more benign requests) once the client is retired. */
  private scheduled(time: number): number {
    return time < this.until ? time : Infinity;
  }

  /** Tie-break among sources with equal times (engine.ts). */
  get order(): number {
    return this.client.index;
  }

  get userAgent(): string {
    return this.userAgentText;
  }

  private refreshUserAgent(): void {
    const { kind, library, name } = this.client;
    // A CI job or partner sends its library's user agent alone; its deploys upgrade the library.
    this.userAgentText = kind === 'ci' || kind === 'partner' ? upgraded(library, this.deploys) : `${name}/${this.version.join('.')} ${library}`;
  }

  /** A new address in one of the client's networks: usually in a subnet it already uses. */
  private addHost(network = this.rng.pick(this.client.networks)): void {
    const subnets = this.subnets.get(network.id) as number[];
    if (this.rng.chance(0.15)) subnets.push(subnetOf(network, () => this.rng.float()));
    const subnet = this.rng.pick(subnets);
    const ip = hostIn(subnet, () => this.rng.float());
    if (this.hosts.some((host) => host.ip === ip)) return;
    this.hosts.push({ ip, network });
    if (this.hosts.length > MAX_HOSTS) this.hosts.shift();
  }

  /**
   * Deploys, autoscaling and, for the client's own requests (`rotate`), rotations that fall due
   * by `time`. An attack's request never rotates the victim's key: a stolen credential is the
   * one the attacker took, and the first use of a new key must be the owners'.
   */
  private evolve(time: number, rotate: boolean): void {
    while (time >= this.nextDeploy) {
      if (this.rng.chance(0.2)) this.version = [this.version[0], this.version[1] + 1, 0];
      else this.version[2] += 1;
      this.deploys += 1;
      this.refreshUserAgent();
      this.nextDeploy += this.rng.exp(3 * DAY_MS);
    }
    while (time >= this.nextGrowth) {
      const added = this.rng.int(1, 3);
      for (let i = 0; i < added; i++) this.addHost();
      this.nextGrowth += this.rng.exp(2 * DAY_MS);
    }
    while (rotate && time >= this.nextRotation) {
      if (this.credentialId !== undefined) this.credentialId = this.rng.uuid();
      this.keyGeneration += 1;
      this.nextRotation += this.rng.range(30, 90) * DAY_MS;
    }
    if (rotate && time >= this.plannedRotation) {
      if (this.credentialId !== undefined) this.credentialId = rotatedCredentialId(this.credentialId);
      this.keyGeneration += 1;
      this.plannedRotation = Infinity;
    }
  }

  /** One of the client's current addresses; a cached-token instance keeps its own. */
  host(instance = -1): Host {
    const index = instance >= 0 ? instance % this.hosts.length : Math.floor(this.rng.float() * this.hosts.length);
    return this.hosts[index] as Host;
  }

  /** A deploy that makes the client ask for `scope` too, from `at` on. */
  addScope(at: number, scope: string): void {
    this.addedScopes.push({ at, scope });
  }

  /** Runs `tap.onEvent` on the first successful benign request at or after `tap.after`. */
  addTap(tap: SuccessTap): void {
    this.taps.push(tap);
  }

  private signAssertion(time: number, kid?: string): AssertionClaims | undefined {
    const profile = this.client.assertion;
    if (!profile || this.client.tenant.idp !== 'oidc-provider') return undefined;
    const iat = Math.floor(time / 1000) - this.rng.int(0, 2);
    return {
      // The time in the node field: a client's random draws repeat in every demo run (each
      // starts the clients afresh), its jti values must not, or a later run's assertions would
      // be replays of the first run's.
      jti: `${this.rng.uuid().slice(0, 24)}${Math.floor(time).toString(16).padStart(12, '0').slice(-12)}`,
      iat,
      exp: iat + profile.lifetimeSeconds,
      iss: this.client.clientId,
      sub: this.client.clientId,
      aud: this.client.tenant.tokenEndpoint,
      kid: kid ?? `${profile.kidPrefix}${this.keyGeneration}`,
      alg: profile.alg,
    };
  }

  /** A request by this client (or with its credentials) at `time`, as its IdP logs it. */
  request(time: number, overrides: RequestOverrides = {}): TokenRequestInput {
    this.evolve(time, false);
    const host = overrides.host ?? this.host();
    const assertion = overrides.assertion ?? this.signAssertion(time, this.credentialId === undefined ? overrides.credential : undefined);
    if (overrides.assertion === undefined && overrides.credential === undefined) this.lastAssertion = assertion;
    // A plain object filled in place: spreads of optional parts cost measurable time per event.
    const context: { -readonly [K in keyof RequestContext]: RequestContext[K] } = {
      time,
      ip: host.ip,
      network: host.network,
      userAgent: overrides.userAgent ?? this.userAgentText,
    };
    if (this.credentialId !== undefined) context.credentialId = overrides.credential ?? this.credentialId;
    if (overrides.failure !== undefined) context.failure = overrides.failure;
    if (assertion !== undefined) context.assertion = assertion;
    if (overrides.replayReported) context.replayReported = true;
    const added = this.addedScopes.length === 0 ? [] : this.addedScopes.filter((entry) => time >= entry.at).map((entry) => entry.scope);
    context.scopes = overrides.scopes ?? scopesAt(this.client, time, added);
    return buildEvent(this.client, context);
  }

  /** The next benign request; advances nextTime. */
  take(): TokenRequestInput {
    const time = this.nextTime;
    this.evolve(time, true);
    const host = this.host(this.source.instance);
    const failure: FailureKind | undefined = this.rng.float() < this.client.failureRate ? (this.rng.chance(0.7) ? 'bad_credential' : 'bad_scope') : undefined;
    const event = this.request(time, failure === undefined ? { host } : { host, failure });
    if (this.taps.length > 0 && failure === undefined) {
      const due = this.taps.filter((tap) => time >= tap.after);
      if (due.length > 0) {
        this.taps = this.taps.filter((tap) => time < tap.after);
        for (const tap of due) tap.onEvent(event, this.lastAssertion);
      }
    }
    this.nextTime = this.scheduled(this.source.next());
    return event;
  }
}
