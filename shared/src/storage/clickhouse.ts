import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Settings } from '../config/settings.js';
import { DependencyError, errorMessage } from '../errors.js';

export type { ClickHouseClient };

type ChdbCompatibleConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface ClickHouse {
  readonly client: ClickHouseClient;
  /** `embedded` is chDB inside this process; `server` is a ClickHouse server at CLICKHOUSE_URL. */
  readonly mode: 'embedded' | 'server';
  /** The embedded data directory (absolute), when embedded. */
  readonly dataDir?: string;
  close(): Promise<void>;
}

type StorageSettings = Pick<
  Settings,
  'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATABASE' | 'TOKENWATCH_DATA_DIR'
>;

/**
 * Limits for ad-hoc (investigation) connections: no writes, no query longer than this. On a
 * server they ride on each request (readonly=2 so the request may carry them); the server's
 * own user profile should pin them with constraints (a read-only investigator user).
 */
export const READ_ONLY_LIMITS = { readonly: '2', max_execution_time: 120 } as const;

/**
 * Opens ClickHouse: a server when CLICKHOUSE_URL is set, otherwise chDB embedded in this
 * process. Both are driven through the same @clickhouse/client API, so every query and
 * migration is written once. chDB takes an exclusive lock on its data directory; a second
 * process gets a DependencyError that says so (the CLI then goes through the query server).
 *
 * Never pass `clickhouse_settings` per query: chDB turns them into session-wide SETs that
 * leak into every later query on the connection. Per-query settings go in the SQL
 * (`SETTINGS name = {param:Type}`); per-connection ones (read-only) are fixed here.
 */
export async function openClickHouse(settings: StorageSettings, { readOnly = false } = {}): Promise<ClickHouse> {
  if (settings.CLICKHOUSE_URL) return openServer(settings, settings.CLICKHOUSE_URL, readOnly);
  return openEmbedded(resolve(settings.TOKENWATCH_DATA_DIR), readOnly);
}

async function openServer(settings: StorageSettings, url: string, readOnly: boolean): Promise<ClickHouse> {
  const client = createClient({
    url,
    username: settings.CLICKHOUSE_USER,
    password: settings.CLICKHOUSE_PASSWORD,
    database: settings.CLICKHOUSE_DATABASE,
    request_timeout: 60_000,
    compression: { request: true, response: true },
    // Failures reach callers as errors with messages; the client's own logger would print
    // multi-line stacks on stderr first.
    log: { level: ClickHouseLogLevel.OFF },
    ...(readOnly ? { clickhouse_settings: READ_ONLY_LIMITS } : {}),
  });
  const ping = await client.ping();
  if (!ping.success) {
    await client.close();
    throw new DependencyError(`cannot reach ClickHouse at CLICKHOUSE_URL=${redactUrl(url)}: ${errorMessage(ping.error)}`);
  }
  return { client, mode: 'server', close: () => client.close() };
}

async function openEmbedded(dataDir: string, readOnly: boolean): Promise<ClickHouse> {
  const chdbDir = resolve(dataDir, 'clickhouse');
  mkdirSync(chdbDir, { recursive: true });
  // Loaded lazily so that server deployments never load the native engine.
  const { createChdbConnection } = await import('chdb/connection');
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: chdbDir });
  } catch (error) {
    throw new DependencyError(
      `cannot open the embedded ClickHouse in TOKENWATCH_DATA_DIR=${dataDir}: ${describeChdbError(error)}`,
    );
  }
  // chdb/connection implements @clickhouse/client-common's Connection interface; the client
  // package bundles its own copy of those declarations, identical in shape but distinct to tsc.
  const client = createClient({ connection: connection as unknown as ChdbCompatibleConnection, log: { level: ClickHouseLogLevel.OFF } });
  if (readOnly) {
    // A connection of its own (chDB lets connections to one path coexist in a process), so
    // the session-wide read-only mode cannot leak into the writers' connection. Set last:
    // readonly=2 forbids changing `readonly` itself afterwards.
    // readonly=1 (not 2): a query's own SETTINGS clause cannot lift the time limit either.
    await client.command({ query: `SET max_execution_time = ${READ_ONLY_LIMITS.max_execution_time}` });
    await client.command({ query: 'SET readonly = 1' });
  }
  return { client, mode: 'embedded', dataDir, close: () => client.close() };
}

function describeChdbError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
  const message = `${errorMessage(error)} ${cause}`;
  return /lock|already running|another/i.test(message)
    ? 'another tokenwatch process is using it (run ingest, detectors and notifier together with `tokenwatch start`, point them all at a ClickHouse server with CLICKHOUSE_URL, or stop the other process)'
    : errorMessage(error);
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
