import { startNotifier } from '@tokenwatch/notifier';
import { loadConfigFile } from '@tokenwatch/server/config-file';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { openStorage } from '@tokenwatch/server/storage';
import { untilSignal, type CommandContext } from '../run.js';

/**
 * `tokenwatch notify`: delivers alerts to Slack (or the terminal, a JSON-lines file, a
 * webhook) until SIGTERM/SIGINT. `--once` delivers what is pending and exits; it exits 1 when a
 * destination cannot be reached, and the alerts stay pending for the next run.
 */
export async function notifyCommand({ settings, logger }: CommandContext, options: { once?: boolean }): Promise<void> {
  const config = loadConfigFile(settings.TOKENWATCH_CONFIG);
  const storage = await openStorage(settings, logger, { serveQueries: !options.once });
  try {
    const notifier = await startNotifier({ settings, config, logger, clickhouse: storage.client, registry: createRegistry(), poll: !options.once });
    if (options.once) {
      try {
        const rounds = await notifier.runOnce();
        logger.info({ delivered: Object.fromEntries(rounds.map((round) => [round.sink, round.handled])) }, 'notify --once: done');
      } finally {
        await notifier.stop();
      }
      return;
    }
    const outcome = await Promise.race([notifier.done.then(() => 'stopped' as const), untilSignal()]);
    if (outcome !== 'stopped') {
      logger.info({ signal: outcome }, 'stopping: finishing the message in flight');
      await notifier.stop();
    }
  } finally {
    await storage.close();
  }
}
