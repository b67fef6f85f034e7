import { ConfigError } from '@tokenwatch/shared/errors';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { isAccessDenied, loadMigrations, migrate, schemaState } from '@tokenwatch/shared/storage/migrate';
import type { CommandContext } from '../run.js';

/**
 * `tokenwatch migrate`: applies pending schema migrations and TOKENWATCH_RETENTION_DAYS, then
 * exits. On a ClickHouse server with the least-privilege users of infra/clickhouse/, the
 * migrator user runs it once per upgrade (compose's `migrate` service) and the services, which
 * may not change the schema, start after it. Embedded, every service migrates by itself anyway.
 */
export async function migrateCommand({ settings }: CommandContext): Promise<void> {
  const clickhouse = await openClickHouse(settings);
  try {
    const migrations = loadMigrations();
    const before = await schemaState(clickhouse.client, migrations);
    let applied: string[];
    try {
      ({ applied } = await migrate(clickhouse.client, { retention_days: settings.TOKENWATCH_RETENTION_DAYS }, migrations));
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
