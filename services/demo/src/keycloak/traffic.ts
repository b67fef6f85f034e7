import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followFile } from '@tokenwatch/ingest/follow/follower';
import type { ConfigFile } from '@tokenwatch/server/config-file';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError, DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import { createKafka, createProducer } from '@tokenwatch/shared/kafka/client';
import type { Logger } from '@tokenwatch/shared/log';
import { createFollowMetrics, type Registry } from '@tokenwatch/shared/metrics';
import { MINUTE_MS } from '@tokenwatch/shared/time';
import type { KeycloakDemoRealm, SignedAssertion, TokenAnswer } from './client.js';
import type { TrafficTask } from '../traffic-task.js';

/**
 * `tokenwatch demo --idp keycloak`: simulated machine clients making real client_credentials
 * requests against a running Keycloak (the demo realm), with the attacks a client can make
 * against a real server, while the log follower (`tokenwatch produce --follow`'s) ships what Keycloak
 * logs to the topic as it is written. The alerts are then those of Keycloak's own log: nothing here
 * writes an event.
 */

/** What the attacks take from the ordinary traffic: svc-jwt's latest assertion (valid for 60 s). */
interface Seen {
  lastAssertion?: SignedAssertion;
}

/** A machine client of the demo realm and the address it always calls from (AWS us-east-1, AS14618). */
interface Machine {
  readonly clientId: string;
  readonly home: string;
  readonly request: (realm: KeycloakDemoRealm, from: string, seen: Seen) => Promise<TokenAnswer>;
}

// Sent as X-Forwarded-For, which Keycloak believes from loopback (keycloak.sh): the address it logs.
const ATTACKER = '185.220.101.47'; // a Tor exit (AS60729, DE): somewhere no demo client calls from

const MACHINES: readonly Machine[] = [
  { clientId: 'svc-secret-basic', home: '3.208.10.11', request: (realm, from) => realm.secretBasic('svc-secret-basic', realm.secretOf('svc-secret-basic'), { forwardedFor: from }) },
  { clientId: 'svc-secret-post', home: '3.208.10.12', request: (realm, from) => realm.secretPost('svc-secret-post', realm.secretOf('svc-secret-post'), { forwardedFor: from }) },
  {
    clientId: 'svc-jwt',
    home: '3.208.10.13',
    request: (realm, from, seen) => {
      seen.lastAssertion = realm.privateKeyJwt('svc-jwt');
      return realm.sendAssertion('svc-jwt', seen.lastAssertion, { forwardedFor: from });
    },
  },
  { clientId: 'svc-secret-jwt', home: '3.208.10.14', request: (realm, from) => realm.sendAssertion('svc-secret-jwt', realm.clientSecretJwt('svc-secret-jwt', realm.secretOf('svc-secret-jwt')), { forwardedFor: from }) },
];

/**
 * The demo's detector settings with a real IdP, where there is no history to back-fill (Keycloak
 * logs real requests at real times), applied only when no configuration file (TOKENWATCH_CONFIG)
 * is given: secret_new_location learning for 30 seconds instead of 7 days (each client's first
 * half minute of ordinary traffic is its home), and mint_volume's new-client
 * caps low enough for a burst a dev server answers in seconds, yet twice a client's own volume
 * per 5-minute bucket at the demo's rate, so ordinary traffic never crosses them.
 */
export function keycloakDemoPlan(rate: number): { learningSeconds: number; coldStartCap: number; burstRequests: number; failureMinCount: number; wrongSecrets: number } {
  const perClientPerBucket = Math.ceil((rate / MACHINES.length) * 300);
  const coldStartCap = Math.max(100, 2 * perClientPerBucket);
  return { learningSeconds: 30, coldStartCap, burstRequests: coldStartCap + 50, failureMinCount: 20, wrongSecrets: 30 };
}

export function keycloakDemoConfig(config: ConfigFile, rate: number): ConfigFile {
  const { detectors } = config;
  const plan = keycloakDemoPlan(rate);
  return {
    ...config,
    detectors: {
      ...detectors,
      secret_new_location: { ...detectors.secret_new_location, learning_days: plan.learningSeconds / 86_400 },
      mint_volume: { ...detectors.mint_volume, cold_start_cap: plan.coldStartCap, failure_min_count: plan.failureMinCount },
    },
  };
}

const BURST_CONCURRENCY = 4;
/** After the learning period, so that the detector's clock (event times) is surely past it. */
const LEARNING_MARGIN_MS = 15_000;

/** One attack: what it does, the alert it should raise, and the requests. */
interface Attack {
  readonly kind: string;
  readonly expect: string;
  /** Not before this long after the traffic began (its turn goes to the next kind until then). */
  readonly notBeforeMs?: number;
  /** `abort` ends a burst early: the demo stops within a few requests, not after hundreds. */
  readonly run: (realm: KeycloakDemoRealm, seen: Seen, abort: AbortSignal) => Promise<void>;
}

/**
 * Each kind in turn. The stolen secret waits until the client's first half minute is over: a place a
 * client used during secret_new_location's learning period (see keycloakDemoPlan) is one of its
 * own from then on, so an earlier attack would teach the detector the attacker's address.
 */
function attacks(rate: number): Attack[] {
  const { burstRequests, wrongSecrets, learningSeconds } = keycloakDemoPlan(rate);
  return [
    {
      kind: 'replayed assertion',
      expect: 'jti_replay on svc-jwt',
      // The client's last assertion (still valid: 60 s), sent again from elsewhere: Keycloak refuses it.
      run: async (realm, { lastAssertion }) => {
        const assertion = lastAssertion ?? realm.privateKeyJwt('svc-jwt');
        if (!lastAssertion) await realm.sendAssertion('svc-jwt', assertion, { forwardedFor: '3.208.10.13' });
        await realm.sendAssertion('svc-jwt', assertion, { forwardedFor: ATTACKER });
      },
    },
    {
      kind: `burst of ${burstRequests} token requests`,
      expect: 'mint_volume on svc-secret-basic',
      run: async (realm, _seen, abort) => {
        await inParallel(burstRequests, BURST_CONCURRENCY, abort, () => realm.secretBasic('svc-secret-basic', realm.secretOf('svc-secret-basic'), { forwardedFor: '3.208.10.11' }));
      },
    },
    {
      kind: `${wrongSecrets} wrong secrets`,
      expect: 'invalid_client_burst on svc-secret-post',
      run: async (realm, _seen, abort) => {
        await inParallel(wrongSecrets, BURST_CONCURRENCY, abort, (i) => realm.secretPost('svc-secret-post', `guess-${i}-${Date.now().toString(36)}`, { forwardedFor: ATTACKER }));
      },
    },
    {
      kind: 'stolen secret used from a new address',
      expect: 'secret_new_location on svc-secret-post',
      notBeforeMs: learningSeconds * 1000 + LEARNING_MARGIN_MS,
      run: async (realm) => {
        await realm.secretPost('svc-secret-post', realm.secretOf('svc-secret-post'), { forwardedFor: ATTACKER });
      },
    },
  ];
}

async function inParallel(count: number, concurrency: number, abort: AbortSignal, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count && !abort.aborted) await task(next++);
  }));
}

export interface KeycloakTrafficOptions {
  readonly realm: KeycloakDemoRealm;
  /** Keycloak's log file (keycloak.sh's JSON console log). */
  readonly logFile: string;
  /** Token requests per second of the machine clients, at most (one at a time; attacks come on top). */
  readonly rate: number;
  /** Minutes between attacks, each kind in turn; 0 for none. */
  readonly attackEvery: number;
}

/** Longest wait between two looks at Keycloak's log; fs.watch wakes the follower sooner. */
const FOLLOW_POLL_MS = 250;

export function keycloakTraffic(args: {
  settings: Settings;
  logger: Logger;
  /** The demo service's: the follower's metrics appear on its /metrics. */
  registry: Registry;
  note: (text: string) => void;
  abort: AbortSignal;
  options: KeycloakTrafficOptions;
}): TrafficTask {
  const { settings, logger, registry, note, abort, options } = args;
  const metrics = createFollowMetrics(registry);
  const done = (async () => {
    // The demo's own position, dropped at the end: with fromEnd the follower starts at the end of
    // the log on every run, since what Keycloak logged before the demo started is not the demo's.
    const stateDirectory = await mkdtemp(join(tmpdir(), 'tokenwatch-demo-keycloak-'));
    const producer = createProducer(createKafka(settings, logger));
    await producer.connect().catch(async (error: unknown) => {
      await rm(stateDirectory, { recursive: true, force: true });
      throw new DependencyError(`demo traffic: cannot connect to Kafka to publish Keycloak's log: ${errorMessage(error)}`);
    });
    const stopFollowing = new AbortController();
    let following!: () => void;
    const opened = new Promise<void>((resolve) => (following = resolve));
    const shipping = followFile({
      file: options.logFile,
      statePath: join(stateDirectory, 'keycloak-log-position.json'),
      fromEnd: true,
      topic: settings.TOKENWATCH_TOPIC,
      deadLetterTopic: settings.TOKENWATCH_DLQ_TOPIC,
      producer,
      logger,
      metrics,
      signal: stopFollowing.signal,
      pollIntervalMs: FOLLOW_POLL_MS,
      onFollowing: () => following(),
    });
    // The follower ends only when stopped: ending earlier (it failed) ends the demo too.
    const shippingEnded = shipping.then(() => {
      throw new DependencyError('demo traffic: stopped following Keycloak\'s log');
    });
    shippingEnded.catch(() => undefined);
    let failure: unknown;
    try {
      // The first request only once the follower is at the log's end: its lines are the demo's.
      await Promise.race([opened, shippingEnded, whenAborted(abort)]);
      await Promise.race([sendRequests(options, note, abort), shippingEnded]);
    } catch (error) {
      failure = error;
    }
    // The stop publishes what the follower read; a last line Keycloak writes after it is not shipped.
    stopFollowing.abort();
    await shipping.catch((error: unknown) => (failure ??= error));
    await producer.disconnect().catch(() => undefined);
    await rm(stateDirectory, { recursive: true, force: true });
    if (failure === undefined) return;
    if (failure instanceof DependencyError || failure instanceof ConfigError) throw failure;
    throw new DependencyError(`demo traffic: cannot publish Keycloak's log to ${settings.TOKENWATCH_TOPIC}: ${errorMessage(failure)}`);
  })();
  done.catch(() => undefined);
  return { done, produced: async () => (await metrics.linesPublished.get()).values[0]?.value ?? 0 };
}

/** The machine clients' requests, one at a time at `options.rate`, and an attack every `attackEvery` minutes, until `abort`. */
async function sendRequests(options: KeycloakTrafficOptions, note: (text: string) => void, abort: AbortSignal): Promise<void> {
  const { realm } = options;
  const seen: Seen = {};
  const kinds = attacks(options.rate);
  const started = Date.now();
  let attackIndex = 0;
  let nextAttack = options.attackEvery > 0 ? Date.now() + options.attackEvery * MINUTE_MS : Infinity;
  const requestGapMs = 1000 / options.rate;
  for (let i = 0; !abort.aborted; i++) {
    const machine = MACHINES[i % MACHINES.length]!;
    await keycloakAnswer(realm, machine.request(realm, machine.home, seen));
    if (Date.now() >= nextAttack) {
      const elapsed = Date.now() - started;
      const due = kinds.filter((kind) => (kind.notBeforeMs ?? 0) <= elapsed);
      const attack = due[attackIndex++ % due.length]!;
      note(`attack: ${attack.kind} (expect ${attack.expect})`);
      await keycloakAnswer(realm, attack.run(realm, seen, abort));
      nextAttack = Date.now() + options.attackEvery * MINUTE_MS;
    }
    await sleep(requestGapMs, abort);
  }
}

/** Waits for a request (or an attack's requests); a Keycloak that stopped answering ends the demo with a clear error. */
async function keycloakAnswer(realm: KeycloakDemoRealm, pending: Promise<unknown>): Promise<void> {
  try {
    await pending;
  } catch (error) {
    throw new DependencyError(`Keycloak stopped answering at ${realm.tokenEndpoint}: ${errorMessage(error)}`);
  }
}

function whenAborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
