import type { Writable } from 'node:stream';
import { z } from 'zod';
import { createConsoleApp, loadConsoleKey, type ConsoleApp } from '@tokenwatch/console';
import { OidcSignIn } from '@tokenwatch/console/auth/oidc';
import type { DetectorService } from '@tokenwatch/detector';
import { PRECISION_BY_FINDING, precisionRowSchema } from '@tokenwatch/detector/triage/precision';
import { triageAlert, type TriageRequest } from '@tokenwatch/detector/triage/triage';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import type { NotifierService } from '@tokenwatch/notifier';
import type { ConfigFile } from './config-file.js';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import { startOpsServer, type OpsServer } from '@tokenwatch/shared/http/ops-server';
import type { Logger } from '@tokenwatch/shared/log';
import { createRegistry, type Registry } from '@tokenwatch/shared/metrics';
import { openInventory, type InventorySource } from '@tokenwatch/shared/inventory/watch';
import { openClickHouse, type ClickHouseClient } from '@tokenwatch/shared/storage/clickhouse';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { readOnlySql } from './read-only.js';
import { openStorage, type Storage } from './storage.js';
import { startLeaderWork } from './leader-work.js';

/** ClickHouse answers a query: the health check and the login check of each configured user. */
const PING = 'SELECT 1 AS ok';
const pingRow = z.object({ ok: z.coerce.number() });

export interface ServiceOptions {
  readonly settings: Settings;
  readonly config: ConfigFile;
  readonly logger: Logger;
  /** A registry of the caller's (tests read values back); a fresh one by default. */
  readonly registry?: Registry;
  /** Where the terminal sink writes alerts when Slack is not configured; stdout by default. */
  readonly output?: Writable;
}

export interface Service {
  readonly storage: Storage;
  readonly registry: Registry;
  readonly ingest: IngestService;
  /** With TOKENWATCH_LEADER_ELECTION=on, tick() and runOnce() reject in a replica that is not the leader. */
  readonly detector: DetectorService;
  readonly notifier: NotifierService;
  /** Whether this process runs the detectors and the notifier now (always, without leader election). */
  leading(): boolean;
  /** Undefined with TOKENWATCH_HTTP_PORT=off. */
  readonly ops: OpsServer | undefined;
  /**
   * Resolves after stop(); rejects with the error when a component stops on its own (the
   * dead-letter limit, Kafka gone for good, a Slack token revoked), after stopping the rest.
   */
  readonly done: Promise<void>;
  /** Ingest drains and commits, the detector finishes its tick, the notifier its message. */
  stop(): Promise<void>;
}

/**
 * The all-in-one service (`tokenwatch start`, and the demo): ingest, detectors and notifier in
 * one process around one ClickHouse handle. Embedded chDB allows a single process per data
 * directory, so this is how the three share it; `openStorage` also serves read-only SQL so
 * `tokenwatch sql` and `tokenwatch alerts` work from another terminal.
 *
 * Start order: storage, then the ops server (so /healthz answers and /readyz says what is
 * missing while the rest starts), then the notifier and detector (configuration errors such as
 * a refused Slack token or a bad cron fail fast, before Kafka is touched), then ingest. With
 * TOKENWATCH_LEADER_ELECTION=on the notifier and detector run only while this replica is the
 * elected leader (leader-work.ts); every replica ingests.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { settings, config, logger } = options;
  const registry = options.registry ?? createRegistry();
  const storage = await openStorage(settings, logger);
  let ingest: IngestService | undefined;
  let stopping = false;
  const cleanups: (() => Promise<void>)[] = [() => storage.close()];
  const unwind = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'error while shutting down'));
  };

  try {
    let ops: OpsServer | undefined;
    // The console shares the ops server's port: one address to open, one to protect.
    let consoleApp: ConsoleApp | undefined;
    // Opened below, after the ops server; the console's client page asks it for owners.
    let inventorySource: InventorySource | undefined;
    if (settings.TOKENWATCH_HTTP_PORT !== 'off') {
      if (settings.TOKENWATCH_CONSOLE) {
        const app = createConsoleApp({
          client: storage.client,
          logger,
          registry,
          key: loadConsoleKey(settings),
          oidc: consoleOidc(settings, logger, () => ops),
          readOnlyQuery: (request) => readOnlySql(settings, request),
          ownerOf: (tenant, clientId) => inventorySource?.current().get(tenant, clientId),
          burstFailureCodes: config.detectors.mint_volume.failure_error_codes,
          // triageAlert validates every request with its own schema (the status rules, the bounds).
          triage: (request) => triageAlert(storage.client, request as TriageRequest),
          readPrecision: (since) => queryRows(storage.client, PRECISION_BY_FINDING, { since: toClickHouseTime(since) }, precisionRowSchema),
        });
        cleanups.push(async () => app.close());
        consoleApp = app;
      }
      ops = await startOpsServer({
        host: settings.TOKENWATCH_HTTP_HOST,
        port: settings.TOKENWATCH_HTTP_PORT,
        portSetting: 'TOKENWATCH_HTTP_PORT',
        registry,
        logger,
        ...(consoleApp ? { app: consoleApp.handle } : {}),
        checks: {
          clickhouse: async () => {
            await queryRows(storage.client, PING, {}, pingRow);
            return undefined;
          },
          kafka_consumer: async () => {
            if (stopping) return 'shutting down';
            if (!ingest) return 'the ingest worker is starting';
            return ingest.notConsumingBecause();
          },
        },
      });
      const server = ops;
      cleanups.push(() => server.close());
    }

    // Before the components: a bad inventory stops start-up with one line, like bad settings.
    const inventory = await openInventory(settings, logger, registry);
    inventorySource = inventory;
    cleanups.push(async () => inventory.close());
    const clients = await componentClients(settings, storage);
    cleanups.push(clients.close);
    const work = await startLeaderWork({ settings, config, logger, registry, inventory, clients, ...(options.output ? { output: options.output } : {}) });
    cleanups.push(() => work.stop());
    const { detector, notifier } = work;
    ingest = await startIngest({ settings, logger, clickhouse: clients.ingest, registry });
    const started = ingest;
    cleanups.push(() => started.stop());
    await work.elect();

    let stopped: Promise<void> | undefined;
    let failed: string | undefined;
    const shutdown = () =>
      (stopped ??= (async () => {
        stopping = true;
        // In parallel: ingest's drain, the detector's tick and the notifier's message are
        // independent. The ops server and storage close after all three.
        const quietly = (name: string) => (error: unknown) => {
          if (name !== failed) logger.warn({ component: name, err: errorMessage(error) }, 'stopped with an error');
        };
        await Promise.all([
          started.stop().catch(quietly('ingest')),
          work.stop().catch(quietly('detector and notifier')),
        ]);
        await ops?.close();
        consoleApp?.close();
        inventory.close();
        await clients.close();
        await storage.close();
      })());

    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    done.catch(() => undefined); // observed by the caller; no unhandled rejection meanwhile
    // A component that stops on its own takes the others down with it: half a pipeline (ingest
    // without alerts, alerts without new data) would look healthy while it is not.
    const onFailure = (name: string) => (error: unknown) => {
      if (stopping) return;
      failed = name;
      void shutdown().finally(() => settle.reject(error instanceof Error ? error : new Error(String(error))));
    };
    started.done.catch(onFailure('ingest'));
    work.done.catch(onFailure('detector and notifier'));

    logger.info(
      { http: ops ? `${ops.host}:${ops.port}` : 'off', notifier: notifier.sinks, leader_election: settings.TOKENWATCH_LEADER_ELECTION ? 'on' : 'off' },
      'tokenwatch service running',
    );
    return {
      storage,
      registry,
      ingest: started,
      detector,
      notifier,
      leading: () => work.leading(),
      ops,
      done,
      stop: async () => {
        await shutdown();
        settle.resolve(); // no-op when a failure already settled it
      },
    };
  } catch (error) {
    stopping = true;
    await unwind();
    throw error;
  }
}

type Component = 'ingest' | 'detector' | 'notifier';

/**
 * The ClickHouse client of each component. Embedded, all share the storage's. On a server each
 * may log in as its own user (CLICKHOUSE_INGEST_USER ..., each unset user or password falling
 * back to CLICKHOUSE_USER / CLICKHOUSE_PASSWORD) with only the rights it needs
 * (infra/clickhouse/); one client per distinct user. A user that cannot log in fails here, by
 * name: the HTTP ping of openClickHouse needs no credentials.
 */
async function componentClients(settings: Settings, storage: Storage): Promise<Record<Component, ClickHouseClient> & { close(): Promise<void> }> {
  const opened = new Map<string, { client: ClickHouseClient; close(): Promise<void> }>();
  const close = async () => {
    const all = [...opened.values()];
    opened.clear();
    for (const { close: closeOne } of all) await closeOne();
  };
  const clientFor = async (component: Component): Promise<ClickHouseClient> => {
    const prefix = `CLICKHOUSE_${component.toUpperCase()}` as `CLICKHOUSE_${Uppercase<Component>}`;
    const user = settings[`${prefix}_USER`] ?? settings.CLICKHOUSE_USER;
    const password = settings[`${prefix}_PASSWORD`] ?? settings.CLICKHOUSE_PASSWORD;
    if (storage.mode === 'embedded' || (user === settings.CLICKHOUSE_USER && password === settings.CLICKHOUSE_PASSWORD)) return storage.client;
    const key = JSON.stringify([user, password]);
    const existing = opened.get(key);
    if (existing) return existing.client;
    const clickhouse = await openClickHouse({ ...settings, CLICKHOUSE_USER: user, CLICKHOUSE_PASSWORD: password });
    opened.set(key, clickhouse);
    try {
      await queryRows(clickhouse.client, PING, {}, pingRow);
    } catch (error) {
      throw new DependencyError(`ClickHouse user ${user} (${prefix}_USER) cannot log in: ${errorMessage(error).split('\n')[0]}`);
    }
    return clickhouse.client;
  };
  try {
    return { ingest: await clientFor('ingest'), detector: await clientFor('detector'), notifier: await clientFor('notifier'), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Console sign-in through the IdP, when TOKENWATCH_CONSOLE_OIDC_ISSUER is set (loadSettings checked the rest). */
function consoleOidc(settings: Settings, logger: Logger, ops: () => OpsServer | undefined): OidcSignIn | undefined {
  const issuer = settings.TOKENWATCH_CONSOLE_OIDC_ISSUER;
  const clientId = settings.TOKENWATCH_CONSOLE_OIDC_CLIENT_ID;
  if (!issuer || !clientId) return undefined;
  const oidc = new OidcSignIn({
    issuer,
    clientId,
    clientSecret: settings.TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET,
    // The default is the ops server's own address, known once it listens (port 0 picks one).
    redirectUrl: () => {
      if (settings.TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL) return settings.TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL;
      const server = ops();
      if (!server) throw new Error('the console answered before the ops server listened');
      const host = server.host.includes(':') ? `[${server.host}]` : server.host;
      return `http://${host}:${server.port}/api/oidc/callback`;
    },
    users: settings.TOKENWATCH_CONSOLE_OIDC_USERS,
    group: settings.TOKENWATCH_CONSOLE_OIDC_GROUP,
    groupClaim: settings.TOKENWATCH_CONSOLE_OIDC_GROUP_CLAIM,
    logger,
  });
  oidc.check().then(
    () => logger.info({ issuer }, 'console: sign-in through the IdP is ready'),
    (error: unknown) => logger.warn({ err: errorMessage(error) }, 'console: the IdP did not answer; sign-in through it will try again at the first sign-in'),
  );
  return oidc;
}
