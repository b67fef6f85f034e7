import { chmodSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { ENGINE_MEMORY_DEFAULTS, SQL_LIMIT_DEFAULTS, type Settings } from '../config/settings.js';
import { ConfigError, DependencyError, errorMessage } from '../errors.js';
import { engineMemoryArgs, sqlMaxMemoryBytes, type EngineMemorySettings } from './engine-memory.js';

export type { ClickHouseClient };

type ChdbCompatibleConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export interface ClickHouse {
  readonly client: ClickHouseClient;
  /**
   * Embedded read-only only: a connection that parses statements (EXPLAIN AST) before
   * `client` runs them, read-only but free of the result limits. Absent elsewhere, where
   * `client` parses too.
   */
  readonly parser?: ClickHouseClient;
  /** `embedded` is chDB inside this process; `server` is a ClickHouse server at CLICKHOUSE_URL. */
  readonly mode: 'embedded' | 'server';
  /** The embedded data directory (absolute), when embedded. */
  readonly dataDir?: string;
  close(): Promise<void>;
}

type StorageSettings = Pick<
  Settings,
  'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATABASE' | 'TOKENWATCH_DATA_DIR'
> &
  Partial<Pick<Settings, 'TOKENWATCH_SQL_MAX_ROWS' | 'TOKENWATCH_SQL_MAX_BYTES' | 'TOKENWATCH_SQL_MAX_MEMORY' | 'TOKENWATCH_SQL_TIMEOUT_SECONDS' | 'TOKENWATCH_CLICKHOUSE_CLUSTER'>> &
  Partial<EngineMemorySettings>;

/**
 * Limits for ad-hoc (investigation) connections: no writes, no query longer than this. On a
 * server they ride on each request (readonly=2 so the request may carry them); the server's
 * own user profile should pin them with constraints (a read-only investigator user).
 */
export const READ_ONLY_LIMITS = { readonly: '2', max_execution_time: 120 } as const;

/**
 * Every write of a cluster-mode connection: an insert into a Distributed table returns once
 * each shard has its rows (and their insert_deduplication_token), not when they are queued on
 * this node's disk; otherwise a Kafka offset could be committed for rows not yet stored, and a
 * migration's back-fill could end before its rows arrive. Server connections only (cluster mode
 * needs CLICKHOUSE_URL), where a client-level setting rides on each request and leaks nowhere.
 */
export const CLUSTER_WRITE_SETTINGS = { distributed_foreground_insert: 1 } as const;

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
  const engine = withEngineMemoryDefaults(settings);
  return openEmbedded(resolve(settings.TOKENWATCH_DATA_DIR), engineMemoryArgs(engine), readOnly ? embeddedReadOnlyLimits(settings, engine) : undefined);
}

function withEngineMemoryDefaults(settings: StorageSettings): EngineMemorySettings {
  return {
    TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: settings.TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB ?? ENGINE_MEMORY_DEFAULTS.limitMb,
    TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: settings.TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB ?? ENGINE_MEMORY_DEFAULTS.markCacheMb,
    TOKENWATCH_CLICKHOUSE_MERGE_THREADS: settings.TOKENWATCH_CLICKHOUSE_MERGE_THREADS ?? ENGINE_MEMORY_DEFAULTS.mergeThreads,
  };
}

/**
 * The session settings of an embedded read-only connection, in the order they are SET:
 * `readonly = 1` last, because it forbids every later SET, and a query's own SETTINGS clause
 * too, so no query can lift these bounds.
 */
function embeddedReadOnlyLimits(settings: StorageSettings, engine: EngineMemorySettings): readonly (readonly [string, number | string])[] {
  return [
    ['max_execution_time', settings.TOKENWATCH_SQL_TIMEOUT_SECONDS ?? SQL_LIMIT_DEFAULTS.timeoutSeconds],
    ['timeout_overflow_mode', 'throw'],
    ['max_result_rows', settings.TOKENWATCH_SQL_MAX_ROWS ?? SQL_LIMIT_DEFAULTS.maxRows],
    ['max_result_bytes', settings.TOKENWATCH_SQL_MAX_BYTES ?? SQL_LIMIT_DEFAULTS.maxBytes],
    // `throw`, not `break`: a silently cut result would read as the whole answer.
    ['result_overflow_mode', 'throw'],
    ['max_memory_usage', sqlMaxMemoryBytes({ ...engine, TOKENWATCH_SQL_MAX_MEMORY: settings.TOKENWATCH_SQL_MAX_MEMORY })],
    ['readonly', 1],
  ];
}

async function openServer(settings: StorageSettings, url: string, readOnly: boolean): Promise<ClickHouse> {
  const client = createServerClient(url, {
    username: settings.CLICKHOUSE_USER,
    password: settings.CLICKHOUSE_PASSWORD,
    database: settings.CLICKHOUSE_DATABASE,
    request_timeout: 60_000,
    compression: { request: true, response: true },
    // Failures reach callers as errors with messages; the client's own logger would print
    // multi-line stacks on stderr first.
    log: { level: ClickHouseLogLevel.OFF },
    ...(readOnly ? { clickhouse_settings: READ_ONLY_LIMITS } : settings.TOKENWATCH_CLICKHOUSE_CLUSTER ? { clickhouse_settings: CLUSTER_WRITE_SETTINGS } : {}),
  });
  const ping = await client.ping();
  if (!ping.success) {
    await client.close();
    throw new DependencyError(`cannot reach ClickHouse at CLICKHOUSE_URL=${redactUrl(url)}: ${errorMessage(ping.error)}`);
  }
  return { client, mode: 'server', close: () => client.close() };
}

async function openEmbedded(
  dataDir: string,
  engineArgs: readonly string[],
  readOnlyLimits: ReturnType<typeof embeddedReadOnlyLimits> | undefined,
): Promise<ClickHouse> {
  const chdbDir = resolve(dataDir, 'clickhouse');
  createPrivateDir(dataDir, chdbDir);
  // Loaded lazily so that server deployments never load the native engine.
  const [{ Session, drainPending }, { createChdbConnection }] = await Promise.all([import('chdb'), import('chdb/connection')]);
  // The engine reads its memory limits and cache sizes once, when the first connection to the
  // directory starts it; chdb/connection cannot pass them, so a plain session opened first with
  // them as arguments starts it, and stays open as long as this connection so that the engine
  // is not stopped and restarted without them. Later connections to the same directory in this
  // process (the read-only ones) join the running engine with the same arguments.
  let engine: InstanceType<typeof Session>;
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    engine = new Session(chdbDir, { connectionArgs: engineArgs });
  } catch (error) {
    throw new DependencyError(
      `cannot open the embedded ClickHouse in TOKENWATCH_DATA_DIR=${dataDir}: ${describeChdbError(error)}`,
    );
  }
  try {
    connection = createChdbConnection({ path: chdbDir });
  } catch (error) {
    engine.close();
    throw new DependencyError(
      `cannot open the embedded ClickHouse in TOKENWATCH_DATA_DIR=${dataDir}: ${describeChdbError(error)}`,
    );
  }
  // chdb/connection implements @clickhouse/client-common's Connection interface; the client
  // package bundles its own copy of those declarations, identical in shape but distinct to tsc.
  const client = createClient({ connection: connection as unknown as ChdbCompatibleConnection, log: { level: ClickHouseLogLevel.OFF } });
  const closeEngine = async (): Promise<void> => {
    await client.close();
    engine.close();
    // close() only defers the engine's teardown while a query is still running natively (one a
    // memory limit or timeout rejected early keeps computing); a connection opened before that
    // drains would join the old engine and silently keep its memory limits.
    await drainPending();
  };
  if (!readOnlyLimits) return { client, mode: 'embedded', dataDir, close: closeEngine };
  // Read-only connections of their own (chDB lets connections to one path coexist in a
  // process), so the session-wide read-only mode cannot leak into the writers' connection.
  await setAll(client, readOnlyLimits);
  // The parser's connection is read-only too but without the result limits: the EXPLAIN AST
  // dump of a statement has a line per node, which a low TOKENWATCH_SQL_MAX_ROWS would refuse.
  const parser = createClient({ connection: createChdbConnection({ path: chdbDir }) as unknown as ChdbCompatibleConnection, log: { level: ClickHouseLogLevel.OFF } });
  await setAll(parser, readOnlyLimits.filter(([name]) => name === 'max_execution_time' || name === 'readonly'));
  return {
    client,
    parser,
    mode: 'embedded',
    dataDir,
    close: async () => {
      await parser.close();
      await closeEngine();
    },
  };
}

/** Session settings, in order; the values are numbers from validated settings or literals, never user text. */
async function setAll(client: ClickHouseClient, settings: ReturnType<typeof embeddedReadOnlyLimits>): Promise<void> {
  for (const [name, value] of settings) {
    await client.command({ query: `SET ${name} = ${typeof value === 'number' ? String(value) : `'${value}'`}` });
  }
}

/**
 * The data directory holds every stored request and the query server's token: readable by its
 * owner only, whatever the umask. An existing directory is tightened too (older versions made
 * it 0755). A directory that cannot be made is one readable line, not a stack trace.
 */
function createPrivateDir(dataDir: string, chdbDir: string): void {
  try {
    const firstCreated = mkdirSync(chdbDir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by the umask; only directories this call made (and the engine's
    // own) are changed, never a directory the operator pointed at.
    if (firstCreated) chmodSync(firstCreated, 0o700);
    if (firstCreated && firstCreated !== dataDir && dataDir.startsWith(firstCreated)) chmodSync(dataDir, 0o700);
    chmodSync(chdbDir, 0o700);
  } catch (error) {
    throw new DependencyError(`cannot create the data directory TOKENWATCH_DATA_DIR=${dataDir}: ${describeFsError(error)}`);
  }
}

const FS_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a file is in the way of the path',
  EEXIST: 'a file is in the way of the path',
  ENOSPC: 'no space left on the device',
};

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return FS_ERRORS[code] ?? errorMessage(error).split('\n', 1)[0] ?? code;
}

function describeChdbError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
  const message = `${errorMessage(error)} ${cause}`;
  return /lock|already running|another/i.test(message)
    ? 'another tokenwatch process is using it (run ingest, detectors and notifier together with `tokenwatch start`, point them all at a ClickHouse server with CLICKHOUSE_URL, or stop the other process)'
    : errorMessage(error);
}

/**
 * The client reads settings from the URL's query string and throws on ones it does not know
 * (`?foo=1`) or values it cannot parse; that is a bad setting, said in one line.
 */
function createServerClient(url: string, config: Omit<NonNullable<Parameters<typeof createClient>[0]>, 'url'>): ClickHouseClient {
  try {
    return createClient({ url, ...config });
  } catch (error) {
    throw new ConfigError(`invalid setting CLICKHOUSE_URL: ${errorMessage(error).split('\n', 1)[0]} (got ${redactUrl(url)})`);
  }
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  // Parameters may carry credentials too (?password=...): their names help, their values not.
  for (const name of new Set(parsed.searchParams.keys())) parsed.searchParams.set(name, '***');
  return parsed.toString();
}
