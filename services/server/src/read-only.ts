import { resolve } from 'node:path';
import { finished, type Readable } from 'node:stream';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { QueryError } from '@tokenwatch/shared/errors';
import { queryThroughServer } from './query-server/client.js';
import { readDiscovery } from './query-server/discovery.js';
import { runReadOnlyQuery, sqlRequestSchema, type SqlRequest } from './query-server/read-only-query.js';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';

/**
 * Runs a read-only query the way every reading command does: with the embedded engine a
 * running tokenwatch process holds the data directory, so the query goes through its loopback
 * query server; otherwise this process opens ClickHouse read-only itself. The result is a
 * byte stream in the requested format, for the caller to pipe on, not to hold whole.
 */
export async function readOnlySql(settings: Settings, input: SqlRequest): Promise<Readable> {
  const parsed = sqlRequestSchema.safeParse(input);
  if (!parsed.success) throw new QueryError(`invalid sql arguments: ${parsed.error.issues[0]?.message ?? ''}`);
  const request = parsed.data;
  const server = settings.CLICKHOUSE_URL ? undefined : readDiscovery(resolve(settings.TOKENWATCH_DATA_DIR));
  if (server) return queryThroughServer(server, request);
  const clickhouse = await openClickHouse(settings, { readOnly: true });
  let result: Readable;
  try {
    result = await runReadOnlyQuery(clickhouse, request);
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
  // The engine closes once the reader has the whole result (or gives up on it).
  finished(result, () => void clickhouse.close());
  return result;
}
