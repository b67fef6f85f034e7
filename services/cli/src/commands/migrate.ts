import { z } from 'zod';
import { ConfigError } from '@tokenwatch/shared/errors';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { clusterTarget } from '@tokenwatch/shared/storage/cluster-ddl';
import { isAccessDenied, loadMigrations, migrate, plannedMigrations, schemaState } from '@tokenwatch/shared/storage/migrate';
import { parseFlags } from '../flags.js';
import type { CommandContext } from '../run.js';

const migrateFlags = z.object({ print: z.boolean().default(false) });

/**
 * `tokenwatch migrate`: applies pending schema migrations and TOKENWATCH_RETENTION_DAYS, then
 * exits. On a ClickHouse server with the least-privilege users of infra/clickhouse/, the
 * migrator user runs it once per upgrade (compose's `migrate` service) and the services, which
 * may not change the schema, start after it. Embedded, every service migrates by itself anyway.
 * With TOKENWATCH_CLICKHOUSE_CLUSTER the statements are the cluster's (cluster-ddl.ts).
 *
 * `--print` prints every statement `migrate` would run for these settings (all migrations, as
 * it does not connect to know which are applied) instead of running any: an operator reviews
 * the cluster DDL before it touches a cluster.
 */
export async function migrateCommand({ settings }: CommandContext, options: unknown): Promise<void> {
  const { print } = parseFlags(migrateFlags, options);
  const layout = { cluster: clusterTarget(settings) };
  const migrations = loadMigrations();
  if (print) {
    for (const migration of plannedMigrations(migrations, layout)) {
      process.stdout.write(`-- ${migration.name}\n${migration.statements.map((statement) => `${statement};\n`).join('\n')}\n`);
    }
    return;
  }
  const clickhouse = await openClickHouse(settings);
  try {
    const before = await schemaState(clickhouse.client, migrations);
    let applied: string[];
    try {
      ({ applied } = await migrate(clickhouse.client, { retention_days: settings.TOKENWATCH_RETENTION_DAYS }, migrations, layout));
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      const who = clickhouse.mode === 'server' ? `ClickHouse user ${settings.CLICKHOUSE_USER}` : 'this ClickHouse user';
      throw new ConfigError(`${who} may not change the schema (run this as the migrator, e.g. tokenwatch_migrator_user): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    process.stdout.write(
      applied.length > 0
        ? `schema migrated from version ${before.current} to ${before.latest}: ${applied.join(', ')}\n`
        : `schema is up to date (version ${before.latest})\n`,
    );
  } finally {
    await clickhouse.close();
  }
}
