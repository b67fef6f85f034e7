import { z } from 'zod';
import { runBacktest, startDetector } from '@tokenwatch/detector';
import { createDetectors, DETECTOR_NAMES } from '@tokenwatch/detector/registry';
import { renderAlertPlain } from '@tokenwatch/notifier/message';
import { loadConfigFile } from '@tokenwatch/server/config-file';
import { openStorage } from '@tokenwatch/server/storage';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { openInventory } from '@tokenwatch/shared/inventory/watch';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { DAY_MS } from '@tokenwatch/shared/time';
import { parseFlags, timeFlag } from '../flags.js';
import { untilSignal, type CommandContext } from '../run.js';

const BACKTEST_DEFAULT_MS = 7 * DAY_MS;

const detectFlags = (now: number) =>
  z
    .object({
      once: z.boolean().optional(),
      from: timeFlag(now).optional(),
      to: timeFlag(now).optional(),
      detector: z.string().refine((name) => DETECTOR_NAMES.includes(name), `expected one of ${DETECTOR_NAMES.join(', ')}`).optional(),
      store: z.boolean().optional(),
      json: z.boolean().optional(),
    })
    .superRefine((flags, context) => {
      const backtesting = flags.from !== undefined || flags.to !== undefined;
      if (backtesting && !flags.once) context.addIssue({ code: 'custom', path: ['from'], message: '--from and --to backtest stored history: use them with --once' });
      if (flags.store && !backtesting) context.addIssue({ code: 'custom', path: ['store'], message: 'applies to a backtest (--once --from <time>)' });
      if (backtesting && !((flags.from ?? now - BACKTEST_DEFAULT_MS) < (flags.to ?? now))) context.addIssue({ code: 'custom', path: ['from'], message: 'must be before --to' });
    });

/**
 * `tokenwatch detect`: the detectors on their schedule (always-on). `--once` runs one live
 * tick and exits; `--once --from <time> [--to <time>]` backtests stored history with the same
 * code and prints what it would have raised (stored only with --store).
 */
export async function detectCommand({ settings, logger }: CommandContext, flags: unknown): Promise<void> {
  const now = Date.now();
  const options = parseFlags(detectFlags(now), flags);
  const config = loadConfigFile(settings.TOKENWATCH_CONFIG).detectors;
  const detectors = createDetectors().filter((detector) => options.detector === undefined || detector.name === options.detector);
  const registry = createRegistry();
  const inventory = await openInventory(settings, logger, registry);
  const storage = await openStorage(settings, logger, { serveQueries: !options.once });
  try {
    if (options.from !== undefined || options.to !== undefined) {
      const from = options.from ?? now - BACKTEST_DEFAULT_MS;
      const to = options.to ?? now;
      const found = await runBacktest({ clickhouse: storage.client, config, logger, inventory: inventory.current() }, detectors, { from, to, store: options.store === true });
      printAlerts(found, options.json);
      process.stderr.write(`${found.length} alerts from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}${options.store ? ' (stored)' : ' (not stored; add --store to keep them)'}\n`);
      return;
    }
    const service = startDetector({ config, logger, clickhouse: storage.client, registry, detectors, inventory });
    if (options.once) {
      const results = await service.tick();
      await service.stop();
      printAlerts(results.flatMap((result) => [...result.raised, ...result.updated]), options.json);
      return;
    }
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping: finishing the current tick');
    await service.stop();
  } finally {
    inventory.close();
    await storage.close();
  }
}

function printAlerts(alerts: readonly StoredAlert[], json: boolean | undefined): void {
  for (const alert of alerts) process.stdout.write(json ? `${JSON.stringify(alert)}\n` : `${renderAlertPlain(alert)}\n\n`);
}
