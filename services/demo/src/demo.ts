import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from 'kafkajs';
import { importLines, type ImportLine } from '@tokenwatch/ingest/import-file';
import { z } from 'zod';
import { loadConfigFile } from '@tokenwatch/server/config-file';
import { startService, type Service } from '@tokenwatch/server/service';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError, DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import { createKafka, createProducer } from '@tokenwatch/shared/kafka/client';
import { createLogger, type Logger } from '@tokenwatch/shared/log';
import type { Registry } from '@tokenwatch/shared/metrics';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { liveTraffic, populationEventsPerSecond, renderNative, type LiveItem } from '@tokenwatch/simulator/index';
import { StatusLine } from './status-line.js';
import { backfillStatus, daysText, duration } from './backfill-status.js';
import type { BackfillProgress, TrafficTask } from './traffic-task.js';
import { DEFAULT_KEYCLOAK_URL, KeycloakDemoRealm } from './keycloak/client.js';
import { keycloakDemoConfig, keycloakDemoPlan, keycloakTraffic } from './keycloak/traffic.js';

/** Live messages per Kafka send at most (native records are ~1 KB; a partition's share of a send must stay under the broker's 1 MB batch limit); the live part sends what is due every FLUSH_MS. */
const SEND_CHUNK = 1_000;
const FLUSH_MS = 250;
/** History records per write while back-filling straight into storage. */
const HISTORY_CHUNK = 5_000;
/**
 * The history's first part, stored and examined by the detectors before the rest: the first
 * attack is in its first minute. A tick examines everything that arrived since the last one, so
 * without the pause the tick that finds the attack would also examine minutes of back-fill.
 */
const FIRST_PART_MS = 10 * MINUTE_MS;
/** A gap this long since the newest stored request is back-filled at start (chooseHistory). */
const FILL_GAP_MS = 10 * MINUTE_MS;
/** Ticks the demo runs at most while it waits for the detectors to examine the first part. */
const FIRST_PART_TICKS = 4;
const STATUS_MS = 2_000;

const STATUS_COUNTS = sql(import.meta.url, './status-counts.sql');
const ALERTS_FIRING = sql(import.meta.url, './alerts-firing.sql');

const KAFKA_SCRIPT = fileURLToPath(new URL('../../../infra/kafka/kafka.sh', import.meta.url));
const KEYCLOAK_SCRIPT = fileURLToPath(new URL('../../../infra/keycloak/keycloak.sh', import.meta.url));
/** Token requests per second of the Keycloak demo's clients when --rate is not given. */
const KEYCLOAK_DEFAULT_RATE = 1;

export interface DemoOptions {
  /** Mean events per second; undefined: the population's own rate. */
  readonly rate?: number | undefined;
  readonly clients: number;
  readonly historyDays: number;
  /** Minutes between attacks; 0 for none. */
  readonly attackEvery: number;
  readonly seed: number;
  /** `simulated`: the simulator's IdP logs; `keycloak`: real requests against a running Keycloak, and its log. */
  readonly idp: 'simulated' | 'keycloak';
  readonly keycloakUrl: string;
  /** Keycloak's JSON log file (keycloak.sh writes infra/keycloak/.cache/keycloak.log). */
  readonly keycloakLog: string;
}

/**
 * `tokenwatch demo` (what `npm start` runs): a local Kafka broker unless KAFKA_BROKERS is set,
 * the all-in-one service on the embedded ClickHouse, and simulated machine-client traffic from
 * Okta, Auth0, Entra ID, Keycloak and an assertion-tap tenant (each in its own log format) with
 * an attack of each kind in turn every few minutes. A status line on stderr; alerts on stdout
 * (or Slack with SLACK_BOT_TOKEN). Ctrl-C stops everything, including a broker it started.
 *
 * The first run back-fills `--history-days` of the same traffic so that baselines and learning
 * periods are met (secret_new_location learns for 7 days); a run that finds data in the table
 * or the topic does not, so a second run continues where the first stopped.
 */
export async function runDemo(settings: Settings, options: DemoOptions, stopRequested: Promise<unknown>): Promise<void> {
  // Quiet by default so the status line and the alerts stay readable: at warn the detector logs
  // every alert it raises (printed in full just below anyway) and kafkajs every rebalance.
  // LOG_LEVEL still wins when set.
  const logger = createLogger(process.env.LOG_LEVEL ? settings.LOG_LEVEL : 'error');
  const keycloak = options.idp === 'keycloak' ? new KeycloakDemoRealm(options.keycloakUrl) : undefined;
  const keycloakRate = options.rate ?? KEYCLOAK_DEFAULT_RATE;
  const fileConfig = loadConfigFile(settings.TOKENWATCH_CONFIG);
  const config = keycloak && !settings.TOKENWATCH_CONFIG ? keycloakDemoConfig(fileConfig, keycloakRate) : fileConfig;

  const broker = await ensureBroker();
  let idp: { stop(): Promise<void> } = { stop: async () => undefined };
  const status = new StatusLine(process.stderr);
  let service: Service | undefined;
  try {
    if (keycloak) {
      idp = await ensureKeycloak(keycloak, options.keycloakUrl);
      if (!existsSync(options.keycloakLog)) {
        throw new ConfigError(`Keycloak's log ${options.keycloakLog} does not exist: --keycloak-log names the file its JSON console log goes to (keycloak.sh writes infra/keycloak/.cache/keycloak.log)`);
      }
    }
    service = await startService({ settings, config, logger, output: status.passThrough(process.stdout) });
    const abort = new AbortController();
    let producer: TrafficTask;
    if (keycloak) {
      const plan = keycloakDemoPlan(keycloakRate);
      if (!settings.TOKENWATCH_CONFIG) {
        status.note(`no history with a real IdP: secret_new_location learns for ${plan.learningSeconds} s, mint_volume's new-client caps are ${plan.coldStartCap} tokens and ${plan.failureMinCount} failures per 5 minutes (TOKENWATCH_CONFIG replaces these)`);
      }
      producer = keycloakTraffic({ settings, logger, registry: service.registry, note: (text) => status.note(text), abort: abort.signal, options: { realm: keycloak, logFile: options.keycloakLog, rate: keycloakRate, attackEvery: options.attackEvery } });
    } else {
      const { historyDays, stored, reason } = await chooseHistory(service, options.historyDays, Date.now());
      if (reason) status.note(reason);
      const running = service;
      producer = produceTraffic({
        settings,
        logger,
        status,
        abort: abort.signal,
        historyDays,
        storedBefore: stored,
        options,
        service: running,
        examined: (storedAt) => untilExamined(running, config.detectors.safety_lag_seconds * 1000, storedAt, abort.signal),
      });
    }
    const ticker = startStatus(status, service, producer);
    const traffic = keycloak
      ? `${keycloakRate} token requests/s from 4 machine clients against Keycloak at ${options.keycloakUrl}, its log ${options.keycloakLog} shipped to Kafka`
      : `${options.rate === undefined ? 'the population\'s own rate' : `${options.rate} events/s`} from ${options.clients} clients`;
    status.note(
      `demo running: ${traffic}; ` +
        `${options.attackEvery > 0 ? `an attack every ${options.attackEvery} min` : 'no attacks'}; ` +
        `alerts ${service.notifier.sinks.includes('slack') ? 'go to Slack' : 'print below'}; ` +
        `${service.ops ? `metrics on http://${service.ops.host}:${service.ops.port}/metrics; ` : ''}Ctrl-C stops`,
    );

    const outcome = await Promise.race([
      service.done.then(() => 'stopped' as const),
      producer.done.then(() => 'traffic ended' as const),
      stopRequested,
    ]);
    abort.abort();
    ticker.stop();
    status.clear();
    if (outcome !== 'stopped') {
      process.stderr.write('tokenwatch demo: stopping (draining ingest, finishing the detector tick and the notifier)\n');
      await producer.done.catch(() => undefined);
      await service.stop();
    }
    await producer.done;
    await service.done;
    process.stderr.write('tokenwatch demo: stopped; run it again to continue with the same data\n');
  } finally {
    status.clear();
    await idp.stop();
    await broker.stop();
  }
}

/**
 * Waits until every detector has examined what was stored by `storedAt`: a tick stops
 * safety_lag behind now, so it first waits that long, then joins the tick under way or runs
 * one, until each detector has examined (or, when behind, looked fresh at) what arrived by
 * `storedAt` (FIRST_PART_TICKS at most; a replica that does not lead, or a failing tick, does
 * not hold the demo up).
 */
async function untilExamined(service: Service, safetyLagMs: number, storedAt: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(safetyLagMs + 100, undefined, { signal });
    for (let ticks = 0; ticks < FIRST_PART_TICKS; ticks++) {
      const results = await service.detector.tick();
      // A detector that is behind looked at the newest arrivals first (its fresh look): that is
      // what the pause is for, even while the backlog before them waits (docs/detectors.md).
      if (results.every((result) => Math.max(result.until, result.fresh?.until ?? 0) >= storedAt)) return;
    }
  } catch {
    // aborted, or not the leader: carry on with the back-fill
  }
}

/**
 * The Keycloak the demo drives: one already answering is used and left alone; at the default
 * address the repository's dev server is started (infra/keycloak/keycloak.sh, a few minutes the
 * first time) and stopped at the end; elsewhere it must already run.
 */
async function ensureKeycloak(realm: KeycloakDemoRealm, url: string): Promise<{ stop(): Promise<void> }> {
  const none = { stop: async () => undefined };
  try {
    await realm.ensureRunning();
    return none;
  } catch (error) {
    if (url !== DEFAULT_KEYCLOAK_URL || !existsSync(KEYCLOAK_SCRIPT)) throw error;
  }
  process.stderr.write('tokenwatch demo: starting the development Keycloak (infra/keycloak/keycloak.sh; minutes on the first run)\n');
  if ((await runScript(KEYCLOAK_SCRIPT, 'start', 'inherit')) !== 0) throw new DependencyError('could not start Keycloak (see the keycloak: lines above)');
  return {
    stop: async () => {
      process.stderr.write('tokenwatch demo: stopping the Keycloak it started\n');
      await runScript(KEYCLOAK_SCRIPT, 'stop', 'inherit');
    },
  };
}

/** Starts the repository's local broker unless KAFKA_BROKERS is set or one already answers. */
async function ensureBroker(): Promise<{ stop(): Promise<void> }> {
  const none = { stop: async () => undefined };
  if (process.env.KAFKA_BROKERS) return none;
  if (!existsSync(KAFKA_SCRIPT)) {
    throw new ConfigError('the demo starts a local Kafka broker with infra/kafka/kafka.sh, which this installation lacks: set KAFKA_BROKERS');
  }
  if ((await runScript(KAFKA_SCRIPT, 'status', 'ignore')) === 0) return none; // someone else's broker: leave it alone
  if ((await runScript(KAFKA_SCRIPT, 'start', 'inherit')) !== 0) throw new DependencyError('could not start the local Kafka broker (see the kafka: lines above)');
  return {
    stop: async () => {
      process.stderr.write('tokenwatch demo: stopping the Kafka broker it started\n');
      await runScript(KAFKA_SCRIPT, 'stop', 'inherit');
    },
  };
}

function runScript(script: string, command: 'start' | 'stop' | 'status', stderr: 'inherit' | 'ignore'): Promise<number> {
  return new Promise((resolve) => {
    // Its own process group: Ctrl-C in the terminal must not kill the broker's start-up or
    // shutdown half-way; the demo stops it in order.
    const child = spawn('bash', [script, command], { stdio: ['ignore', 'ignore', stderr], detached: true });
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * How much history to back-fill: `wanted` days into an empty installation; after an earlier
 * run, the gap since the newest stored request (at most `wanted` days) when it is longer than
 * FILL_GAP_MS. A back-fill cut short (Ctrl-C soon after the first alert) or a demo stopped for a
 * while would otherwise leave the baselines with a hole, and the detectors would find the
 * networks and user agents of clients that were quiet in it new. History never goes through
 * the topic, so what the topic holds is live traffic of an earlier run, never history twice.
 */
async function chooseHistory(service: Service, wanted: number, now: number): Promise<{ historyDays: number; stored: number; reason?: string }> {
  const [row] = await queryRows(service.storage.client, STATUS_COUNTS, {}, statusCountsRow);
  const stored = row?.stored ?? 0;
  if (wanted === 0) return { historyDays: 0, stored };
  if (stored === 0) return { historyDays: wanted, stored };
  const gap = Math.max(0, now - (row?.newest_ms ?? now));
  const found = `found earlier data (${stored.toLocaleString('en')} stored requests, the newest ${gap < DAY_MS ? duration(gap) : `${(gap / DAY_MS).toFixed(1)} days`} old)`;
  if (gap <= FILL_GAP_MS) return { historyDays: 0, stored, reason: `${found}: continuing without a back-fill` };
  const historyDays = Math.min(wanted, gap / DAY_MS);
  return { historyDays, stored, reason: `${found}: back-filling the ${daysText(historyDays)} since` };
}

/**
 * Feeds liveTraffic in: the history straight into storage (historyWriter), the live part into
 * the topic. Each event as its IdP logs it (renderNative; the tap
 * tenant's are canonical already), keyed by tenant and client so one client's events stay in
 * order on one partition. Event ids get a per-run suffix: the simulator numbers events from 0
 * on every run, and an id is the idempotency key.
 */
function produceTraffic(args: {
  settings: Settings;
  logger: Logger;
  status: StatusLine;
  abort: AbortSignal;
  historyDays: number;
  /** Requests stored before this run (a gap back-fill counts from there). */
  storedBefore: number;
  options: DemoOptions;
  service: Service;
  /** Resolves once the detectors have examined what was stored by the given time. */
  examined: (storedAt: number) => Promise<void>;
}): TrafficTask {
  const { settings, logger, status, abort, historyDays, storedBefore, options, service, examined } = args;
  const run = Date.now().toString(36);
  let produced = 0;
  const liveStart = Date.now();
  const historyStart = liveStart - historyDays * DAY_MS;
  let backfill: BackfillProgress | undefined =
    historyDays > 0
      ? {
          historyStart,
          liveStart,
          storedBefore,
          expected: Math.round((options.rate ?? populationEventsPerSecond(options.seed, options.clients)) * historyDays * 86_400),
          complete: false,
        }
      : undefined;
  let backfillSent = 0;
  const done = (async () => {
    const producer = createProducer(createKafka(settings, logger));
    await producer.connect();
    let pending: Message[] = [];
    let sending: Promise<void> = Promise.resolve();
    let failure: unknown;
    const flush = (): Promise<void> => {
      if (pending.length === 0) return sending;
      const messages = pending;
      pending = [];
      sending = sending.then(async () => {
        if (failure !== undefined) return;
        try {
          await producer.send({ topic: settings.TOKENWATCH_TOPIC, acks: -1, messages });
          produced += messages.length;
        } catch (error) {
          failure = error;
        }
      });
      return sending;
    };
    const timer = setInterval(() => void flush(), FLUSH_MS);
    let backfilling = backfill !== undefined;
    let firstPartExamined = false;
    if (backfill) {
      status.note(
        `back-filling ${daysText(historyDays)} of history first (about ${backfill.expected.toLocaleString('en')} events) straight into storage, as \`tokenwatch import\` loads an IdP's export; live traffic goes through Kafka. The first attack is in the history's first minute: its first ${FIRST_PART_MS / MINUTE_MS} minutes are stored and examined by the detectors before the rest`,
      );
    }
    let history: HistoryWriter | undefined;
    try {
      if (backfilling) history = historyWriter(settings, service);
      const traffic: AsyncGenerator<LiveItem> = liveTraffic({
        seed: options.seed,
        clients: options.clients,
        ...(options.rate !== undefined ? { eventsPerSecond: options.rate } : {}),
        historyDays,
        attackEveryMinutes: options.attackEvery,
        signal: abort,
      });
      for await (const item of traffic) {
        if (failure !== undefined) break;
        if (item.type === 'label') {
          status.note(`injected ${item.label.kind} on ${item.label.tenant}/${item.label.client_id} (expect a ${item.label.finding} alert)`);
          continue;
        }
        const event = { ...item.event, event_id: `${item.event.event_id}.${run}` };
        const time = typeof event.time === 'number' ? event.time : Date.parse(event.time);
        if (backfilling && time >= liveStart - MINUTE_MS) {
          backfilling = false;
          const rejected = await history?.finish();
          if (backfill) backfill = { ...backfill, expected: backfillSent - (rejected?.count ?? 0), complete: true };
          if (rejected?.count) status.note(`${rejected.count} history records were rejected: see ${rejected.path}`);
          status.note('history back-filled; live traffic from now on');
        }
        const text = JSON.stringify(renderNative(event));
        if (backfilling && history && !firstPartExamined && time >= historyStart + FIRST_PART_MS) {
          firstPartExamined = true;
          await history.flush();
          if (backfill) backfill = { ...backfill, examiningFirstMs: FIRST_PART_MS };
          await examined(Date.now());
          if (backfill) backfill = { ...backfill, examiningFirstMs: undefined, pace: { since: Date.now(), coveredMs: time - historyStart } };
        }
        if (backfilling && history) {
          backfillSent += 1;
          await history.add(text);
          continue;
        }
        pending.push({ key: `${event.tenant}/${event.client_id}`, value: text });
        if (pending.length >= SEND_CHUNK) await flush();
      }
      await history?.finish();
      await flush();
    } finally {
      clearInterval(timer);
      await history?.finish().catch(() => undefined);
      await sending;
      await producer.disconnect().catch(() => undefined);
    }
    if (failure !== undefined) throw new DependencyError(`demo traffic: cannot publish to ${settings.TOKENWATCH_TOPIC}: ${errorMessage(failure)}`);
  })();
  done.catch(() => undefined);
  return { done, produced: async () => produced, backfill: () => backfill };
}

async function* oneChunk(chunk: readonly ImportLine[]): AsyncGenerator<readonly ImportLine[]> {
  yield chunk;
}

/** Where the back-fill's records go (historyWriter). */
interface HistoryWriter {
  add(text: string): Promise<void>;
  /** Resolves once everything added so far is stored. */
  flush(): Promise<void>;
  /** Stores the rest; the records rejected in all and the file that holds them. */
  finish(): Promise<{ count: number; path: string }>;
}

/**
 * Writes the back-filled history straight into token_requests, the way `tokenwatch import`
 * loads an IdP's log export: each record as its IdP logs it, through the Kafka worker's own
 * decoder (its formats and enrichment) and the write path (storeDecoded), HISTORY_CHUNK records
 * a write, one write in flight while the next chunk is generated. What it skips is the
 * broker round trip. Rejected records (there should be none: the simulator renders valid
 * records) go to a rejects file, as import's do.
 */
function historyWriter(settings: Settings, service: Service): HistoryWriter {
  const clickhouse = service.storage.client;
  const decode = (text: string) => service.ingest.decode(text);
  const rejectsPath = join(settings.TOKENWATCH_DATA_DIR, 'demo-history.rejects.jsonl');
  let lines: ImportLine[] = [];
  let number = 0;
  let rejected = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = async (chunk: readonly ImportLine[]) => {
    const counts = await importLines(oneChunk(chunk), { clickhouse, decode, retentionDays: settings.TOKENWATCH_RETENTION_DAYS, rejectsPath });
    rejected += counts.rejected;
  };
  const startWrite = async () => {
    const chunk = lines;
    lines = [];
    await writing; // one write in flight; a failed one stops the back-fill here
    writing = write(chunk);
    writing.catch(() => undefined);
  };
  return {
    add: async (text) => {
      lines.push({ number: ++number, text });
      if (lines.length >= HISTORY_CHUNK) await startWrite();
    },
    flush: async () => {
      if (lines.length > 0) await startWrite();
      await writing;
    },
    finish: async () => {
      if (lines.length > 0) await startWrite();
      await writing;
      return { count: rejected, path: rejectsPath };
    },
  };
}

/**
 * Every STATUS_MS: while the history back-fill is being stored, its progress (requests stored of
 * those expected, days of history covered) and an ETA; then events/s produced and stored, stored
 * rows and consumer lag. Alerts firing, always.
 */
function startStatus(status: StatusLine, service: Service, traffic: TrafficTask): { stop(): void } {
  let last = { at: Date.now(), produced: 0, stored: 0 };
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy) return; // a slow ClickHouse must not pile up status queries
    busy = true;
    void (async () => {
      try {
        const now = Date.now();
        const produced = await traffic.produced();
        const stored = await counterValue(service.registry, 'tokenwatch_ingest_events_stored_total');
        const [[counts], [firing]] = await Promise.all([
          queryRows(service.storage.client, STATUS_COUNTS, {}, statusCountsRow),
          queryRows(service.storage.client, ALERTS_FIRING, {}, scalarRow),
        ]);
        const rows = counts?.stored ?? 0;
        const alerts = `${firing?.value ?? 0} alerts firing`;
        const backfill = traffic.backfill?.();
        if (stopped) return; // an update that was under way when the demo began to stop
        if (backfill && !(backfill.complete && rows - backfill.storedBefore >= backfill.expected)) {
          status.show(`${backfillStatus(backfill, rows, counts?.newest_ms ?? 0, now)} | ${alerts}`);
        } else {
          const seconds = Math.max(0.001, (now - last.at) / 1000);
          const lag = service.ingest.lag();
          status.show(
            `${rate((produced - last.produced) / seconds)} events/s produced, ${rate((stored - last.stored) / seconds)} stored | ` +
              `${rows.toLocaleString('en')} requests stored | lag ${lag === undefined ? '?' : lag.toLocaleString('en')} | ${alerts}`,
          );
        }
        last = { at: now, produced, stored };
      } catch {
        // ClickHouse busy or closing: skip this update
      } finally {
        busy = false;
      }
    })();
  }, STATUS_MS);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

const rate = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(1));

async function counterValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

const scalarRow = z.object({ value: z.coerce.number() });
const statusCountsRow = z.object({ stored: z.coerce.number(), newest_ms: z.coerce.number() });
