import { loadConfigFile } from '@tokenwatch/server/config-file';
import { startService } from '@tokenwatch/server/service';
import { untilSignal, type CommandContext } from '../run.js';

/**
 * `tokenwatch start`: ingest, detectors and notifier in one process (the demo without the
 * traffic), with /healthz, /readyz and /metrics. Until SIGINT/SIGTERM, which stops everything
 * cleanly, or a fatal error in any component, which stops the rest and exits 1 with one line.
 */
export async function startCommand({ settings, logger }: CommandContext): Promise<void> {
  const config = loadConfigFile(settings.TOKENWATCH_CONFIG);
  const service = await startService({ settings, config, logger });
  const outcome = await Promise.race([service.done.then(() => 'stopped' as const), untilSignal()]);
  if (outcome !== 'stopped') {
    logger.info({ signal: outcome }, 'stopping: draining ingest, finishing the detector tick and the notifier');
    await service.stop();
  }
  // A component's failure rejects here and reaches runCommand as its one-line error.
  await service.done;
}
