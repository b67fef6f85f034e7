import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.js';
import { clusterMigrations, localTableName, onCluster, type ClusterTarget } from './cluster-ddl.js';
import { queryRows } from './sql.js';

/**
 * Versioned schema migrations: plain .sql files named `NNNN_description.sql` in
 * ./migrations, applied in order at start-up and recorded in `schema_migrations`.
 * Every statement is idempotent (IF NOT EXISTS) so a crash between applying a file and
 * recording it is harmless, and two processes migrating at once do no damage.
 */

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export interface MigrationParams {
  /** Parameters available to every migration as {name:Type}. */
  readonly retention_days: number;
}

/** Where the schema lives: one node (the default) or a cluster (TOKENWATCH_CLICKHOUSE_CLUSTER, cluster-ddl.ts). */
export interface SchemaLayout {
  readonly cluster?: ClusterTarget;
}

/** The bookkeeping table, created before any migration runs. */
const SCHEMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations
            (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY version`;

/**
 * The statements `migrate` runs for this layout, as migrations: the bookkeeping table first
 * (version 0), then every migration, transformed for a cluster when there is one. What
 * `tokenwatch migrate --print` shows an operator before running it.
 */
export function plannedMigrations(migrations: readonly Migration[], { cluster }: SchemaLayout = {}): Migration[] {
  const bookkeeping: Migration = { version: 0, name: '0000_schema_migrations', statements: [SCHEMA_MIGRATIONS_TABLE] };
  return cluster ? clusterMigrations([bookkeeping, ...migrations], cluster) : [bookkeeping, ...migrations];
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ''),
      statements: splitStatements(readFileSync(`${dir}/${file}`, 'utf8')),
    }));
}

/** Splits a file on semicolons that end a line, after dropping whole-line comments. */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

export async function migrate(
  client: ClickHouseClient,
  params: MigrationParams,
  migrations: readonly Migration[] = loadMigrations(),
  layout: SchemaLayout = {},
): Promise<{ applied: string[] }> {
  // Transformed as a whole before anything runs: a statement the cluster transform does not
  // understand stops here, with nothing half-applied.
  const [bookkeeping, ...planned] = plannedMigrations(migrations, layout);
  for (const statement of bookkeeping?.statements ?? []) await client.command({ query: statement });
  const done = await appliedVersions(client);
  const applied: string[] = [];
  for (const migration of planned) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements) {
      await client.command({ query: statement, query_params: { ...params } });
    }
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name }],
      format: 'JSONEachRow',
    });
    applied.push(migration.name);
  }
  await applyRetention(client, params.retention_days, layout.cluster);
  return { applied };
}

const appliedVersionRow = z.object({ version: z.coerce.number() });

async function appliedVersions(client: ClickHouseClient): Promise<Set<number>> {
  const rows = await queryRows(client, 'SELECT version FROM schema_migrations FINAL', {}, appliedVersionRow);
  return new Set(rows.map((row) => row.version));
}

export interface SchemaState {
  /** The highest applied version, 0 on an empty database. */
  readonly current: number;
  /** The highest version this code has a migration for. */
  readonly latest: number;
  readonly pending: readonly Migration[];
}

/** What is applied and what is not; needs only SELECT on schema_migrations (or nothing, before the first migration). */
export async function schemaState(client: ClickHouseClient, migrations: readonly Migration[] = loadMigrations()): Promise<SchemaState> {
  let done: Set<number>;
  try {
    done = await appliedVersions(client);
  } catch (error) {
    if (!hasCode(error, '60', 'UNKNOWN_TABLE') && !/UNKNOWN_TABLE|Unknown table|doesn't exist/i.test(errorMessage(error))) throw error;
    done = new Set();
  }
  return {
    current: Math.max(0, ...done),
    latest: Math.max(0, ...migrations.map((migration) => migration.version)),
    pending: migrations.filter((migration) => !done.has(migration.version)),
  };
}

/** ClickHouse refused for lack of rights: ACCESS_DENIED (497) or a read-only user (164). */
export function isAccessDenied(error: unknown): boolean {
  return hasCode(error, '497', 'ACCESS_DENIED') || hasCode(error, '164', 'READONLY') || /ACCESS_DENIED|Not enough privileges|in readonly mode/.test(errorMessage(error));
}

/** A ClickHouseError carries the server's error code and name as `code` ('60') and `type` ('UNKNOWN_TABLE'). */
function hasCode(error: unknown, code: string, type: string): boolean {
  const fields = error as { code?: unknown; type?: unknown } | null;
  return fields?.code === code || fields?.type === type;
}

/**
 * What a service does at start-up (openStorage): apply pending migrations when its user may, and
 * otherwise fail with one line naming `tokenwatch migrate`. A user without DDL rights (the
 * least-privilege users of infra/clickhouse/) starts normally once a migrator has run it; it
 * also cannot change the tables' TTL, so a different TOKENWATCH_RETENTION_DAYS is reported, not
 * applied (`retentionNotApplied`).
 */
export async function prepareSchema(
  client: ClickHouseClient,
  params: MigrationParams,
  migrations: readonly Migration[] = loadMigrations(),
  layout: SchemaLayout = {},
): Promise<{ applied: string[]; retentionNotApplied?: string }> {
  const state = await schemaState(client, migrations);
  if (state.pending.length === 0) {
    try {
      await applyRetention(client, params.retention_days, layout.cluster);
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      return { applied: [], retentionNotApplied: firstLine(error) };
    }
    return { applied: [] };
  }
  try {
    return await migrate(client, params, migrations, layout);
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    throw new ConfigError(
      `schema is at version ${state.current}, the code needs ${state.latest}: run \`tokenwatch migrate\` with a user that may change the schema (this one may not: ${firstLine(error)})`,
    );
  }
}

function firstLine(error: unknown): string {
  return errorMessage(error).split('\n')[0]?.trim() ?? '';
}

/** Tables whose rows expire after TOKENWATCH_RETENTION_DAYS, with the column the TTL counts from. */
const RETAINED_TABLES = [
  { table: 'token_requests', ttl: 'toDateTime(time)' },
  { table: 'client_minute_counts', ttl: 'minute' },
  { table: 'client_locations', ttl: 'day' },
  { table: 'jti_uses', ttl: 'week' },
  { table: 'client_traits', ttl: 'week' },
  { table: 'client_asn_slots', ttl: 'day' },
  { table: 'credential_days', ttl: 'day' },
  { table: 'jti_use_hours', ttl: 'hour' },
] as const;

/**
 * TOKENWATCH_RETENTION_DAYS may change between runs. MODIFY TTL rewrites parts, so it is
 * issued only for a table whose TTL differs from the setting.
 */
const tableEngineRow = z.object({ name: z.string(), engine_full: z.string() });

/** On a cluster the TTL is the shard-local tables' (read on this node, changed on every node). */
async function applyRetention(client: ClickHouseClient, days: number, cluster?: ClusterTarget): Promise<void> {
  const rows = await queryRows(
    client,
    `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}`,
    { tables: RETAINED_TABLES.map(({ table }) => localTableName(table, cluster)) },
    tableEngineRow,
  );
  const current = new Map(
    rows.map((row) => [row.name, row.engine_full.match(/toIntervalDay\((?:_CAST\()?(\d+)/)?.[1]]),
  );
  for (const { table, ttl } of RETAINED_TABLES) {
    const local = localTableName(table, cluster);
    const tableDays = current.get(local);
    if (tableDays === undefined || Number(tableDays) === days) continue;
    // Table and column names come from the constant above, never from input.
    await client.command({ query: `ALTER TABLE ${local}${cluster ? onCluster(cluster) : ''} MODIFY TTL ${ttl} + toIntervalDay({days:UInt32})`, query_params: { days } });
  }
}
