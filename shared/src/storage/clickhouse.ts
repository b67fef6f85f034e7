import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
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
 * Opens ClickHouse: a server when CLICKHOUSE_URL is set, otherwise chDB embedded in this
 * process. Both are driven through the same @clickhouse/client API, so every query and
 * migration is written once. chDB takes an exclusive lock on its data directory; a second
 * process gets a DependencyError that says so (the CLI then goes through the query server).
 */
export async function openClickHouse(settings: StorageSettings): Promise<ClickHouse> {
  if (settings.CLICKHOUSE_URL) return openServer(settings, settings.CLICKHOUSE_URL);
  return openEmbedded(resolve(settings.TOKENWATCH_DATA_DIR));
}

async function openServer(settings: StorageSettings, url: string): Promise<ClickHouse> {
  const client = createClient({
    url,
    username: settings.CLICKHOUSE_USER,
    password: settings.CLICKHOUSE_PASSWORD,
    database: settings.CLICKHOUSE_DATABASE,
    request_timeout: 60_000,
    compression: { request: true, response: true },
  });
  const ping = await client.ping();
  if (!ping.success) {
    await client.close();
    throw new DependencyError(`cannot reach ClickHouse at CLICKHOUSE_URL=${redactUrl(url)}: ${errorMessage(ping.error)}`);
  }
  return { client, mode: 'server', close: () => client.close() };
}

async function openEmbedded(dataDir: string): Promise<ClickHouse> {
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
  const client = createClient({ connection: connection as unknown as ChdbCompatibleConnection });
  return { client, mode: 'embedded', dataDir, close: () => client.close() };
}

function describeChdbError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
  const message = `${errorMessage(error)} ${cause}`;
  return /lock|already running|another/i.test(message)
    ? 'another tokenwatch process is using it (stop it, or run this command while it serves queries)'
    : errorMessage(error);
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
