import { resolve } from 'node:path';
import type { Settings } from '@tokenwatch/shared/config/settings';
import type { Logger } from '@tokenwatch/shared/log';
import { actionThroughServer } from './query-server/client.js';
import { readDiscovery } from './query-server/discovery.js';
import { runOperatorAction, type OperatorAction, type OperatorResult } from './query-server/operator-action.js';
import { openStorage } from './storage.js';

/**
 * Runs an operator action (add or remove a watch, store ioc_match alerts) the way `tokenwatch
 * sql` runs a query: through the running process's query server when it holds the embedded
 * data directory, otherwise on a connection of this process's own (embedded, or the ClickHouse
 * server with CLICKHOUSE_USER's rights).
 */
export async function operatorAction(settings: Settings, logger: Logger, action: OperatorAction): Promise<OperatorResult> {
  const server = settings.CLICKHOUSE_URL ? undefined : readDiscovery(resolve(settings.TOKENWATCH_DATA_DIR));
  if (server) return actionThroughServer(server, action);
  const storage = await openStorage(settings, logger, { serveQueries: false });
  try {
    return await runOperatorAction(storage.client, logger, action);
  } finally {
    await storage.close();
  }
}
