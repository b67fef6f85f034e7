import { QueryError } from '@tokenwatch/shared/errors';
import { queryThroughServer } from '@tokenwatch/shared/query-server/client';
import { readDiscovery } from '@tokenwatch/shared/query-server/discovery';
import { runReadOnlyQuery, sqlRequestSchema } from '@tokenwatch/shared/query-server/read-only-query';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { resolve } from 'node:path';
import type { CommandContext } from '../run.js';

/**
 * `tokenwatch sql "<query>"`: read-only ad-hoc SQL. A readable table on a terminal,
 * JSONEachRow when piped. With the embedded engine, a running tokenwatch process holds the
 * data directory, so the query goes through its loopback query server; otherwise this
 * process opens ClickHouse itself.
 */
export async function sqlCommand({ settings }: CommandContext, query: string, format: string | undefined): Promise<void> {
  const parsed = sqlRequestSchema.safeParse({
    query,
    format: format ?? (process.stdout.isTTY ? 'PrettyCompactMonoBlock' : 'JSONEachRow'),
  });
  if (!parsed.success) throw new QueryError(`invalid sql arguments: ${parsed.error.issues[0]?.message ?? ''}`);
  const request = parsed.data;
  const server = settings.CLICKHOUSE_URL ? undefined : readDiscovery(resolve(settings.TOKENWATCH_DATA_DIR));
  if (server) {
    process.stdout.write(await queryThroughServer(server, request));
    return;
  }
  const clickhouse = await openClickHouse(settings, { readOnly: true });
  try {
    process.stdout.write(await runReadOnlyQuery(clickhouse.client, request));
  } finally {
    await clickhouse.close();
  }
}
