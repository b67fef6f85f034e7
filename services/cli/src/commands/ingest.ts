import { startIngest } from '@tokenwatch/ingest';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { openStorage } from '@tokenwatch/server/storage';
import { untilSignal, type CommandContext } from '../run.js';

/** `tokenwatch ingest`: the always-on worker, until SIGTERM/SIGINT or a fatal error. */
export async function ingestCommand({ settings, logger }: CommandContext): Promise<void> {
  const storage = await openStorage(settings, logger);
  try {
    const ingest = await startIngest({ settings, logger, clickhouse: storage.client, registry: createRegistry() });
    const outcome = await Promise.race([ingest.done.then(() => 'stopped' as const), untilSignal()]);
    if (outcome !== 'stopped') {
      logger.info({ signal: outcome }, 'stopping: finishing the current batch');
      await ingest.stop();
    }
  } finally {
    await storage.close();
  }
}
