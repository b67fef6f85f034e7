import type { Settings } from '@tokenwatch/shared/config/settings';
import type { Logger } from '@tokenwatch/shared/log';
import { startQueryServer, type QueryServer } from './query-server/server.js';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { clusterTarget } from '@tokenwatch/shared/storage/cluster-ddl';
import { loadMigrations, prepareSchema } from '@tokenwatch/shared/storage/migrate';

export interface Storage extends ClickHouse {
  readonly queryServer?: QueryServer;
}

/**
 * What every long-running service does first: open ClickHouse, bring the schema up to date
 * (or, as a user without DDL rights, check that it is)
 * and, when the engine is embedded (so this process holds the data directory), serve
 * read-only SQL for `tokenwatch sql` (and the typed operator actions of `tokenwatch watch` and
 * `tokenwatch sweep --alert`, query-server/operator-action.ts). Short-lived commands (import) pass serveQueries: false.
 */
export async function openStorage(
  settings: Settings,
  logger: Logger,
  { serveQueries = true }: { serveQueries?: boolean } = {},
): Promise<Storage> {
  const clickhouse = await openClickHouse(settings);
  try {
    // A user that may not change the schema (infra/clickhouse/) gets a one-line error naming
    // `tokenwatch migrate` when migrations are pending, and starts normally when none are.
    const { applied, retentionNotApplied } = await prepareSchema(clickhouse.client, { retention_days: settings.TOKENWATCH_RETENTION_DAYS }, loadMigrations(), {
      cluster: clusterTarget(settings),
    });
    if (applied.length > 0) logger.info({ applied }, 'applied schema migrations');
    if (retentionNotApplied) {
      logger.warn({ err: retentionNotApplied }, `TOKENWATCH_RETENTION_DAYS=${settings.TOKENWATCH_RETENTION_DAYS} differs from the tables' TTL and this user may not change it: run \`tokenwatch migrate\``);
    }
    if (!serveQueries || clickhouse.mode === 'server' || !clickhouse.dataDir) return clickhouse;
    const readOnly = await openClickHouse(settings, { readOnly: true });
    const queryServer = await startQueryServer({
      clickhouse: readOnly,
      writer: clickhouse.client,
      dataDir: clickhouse.dataDir,
      port: settings.TOKENWATCH_QUERY_PORT,
      logger,
    });
    return {
      ...clickhouse,
      queryServer,
      close: async () => {
        await queryServer.close();
        await readOnly.close();
        await clickhouse.close();
      },
    };
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
}
