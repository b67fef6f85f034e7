import { startDetector } from '@tokenwatch/detector';
import { loadConfigFile } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { backtest } from '@tokenwatch/detector/engine';
import { createDetectors, DETECTOR_NAMES } from '@tokenwatch/detector/registry';
import { ConfigError } from '@tokenwatch/shared/errors';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { DAY_MS } from '@tokenwatch/shared/time';
import { renderAlertPlain } from '@tokenwatch/notifier/message';
import { openStorage } from '@tokenwatch/server/storage';
import { untilSignal, type CommandContext } from '../run.js';
import { parseTimeArg } from '../time-arg.js';

export interface DetectOptions {
  readonly once?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly detector?: string;
  readonly store?: boolean;
  readonly json?: boolean;
}

/**
 * `tokenwatch detect`: the detectors on their schedule (always-on). `--once` runs one live
 * tick and exits; `--once --from <time> [--to <time>]` backtests stored history with the same
 * code and prints what it would have raised (stored only with --store), so thresholds can be
 * tuned before they page anyone.
 */
export async function detectCommand({ settings, logger }: CommandContext, options: DetectOptions): Promise<void> {
  const config = loadConfigFile(settings.TOKENWATCH_CONFIG).detectors;
  const detectors = selectDetectors(options.detector);
  const backtesting = options.from !== undefined || options.to !== undefined;
  if (backtesting && !options.once) throw new ConfigError('--from and --to backtest stored history: use them with --once');
  if (options.store && !backtesting) throw new ConfigError('--store applies to a backtest (--once --from <time>)');
  const storage = await openStorage(settings, logger, { serveQueries: !options.once });
  try {
    if (backtesting) {
      const now = Date.now();
      const from = options.from ? parseTimeArg('--from', options.from, now) : now - 7 * DAY_MS;
      const to = options.to ? parseTimeArg('--to', options.to, now) : now;
      if (!(from < to)) throw new ConfigError('--from must be before --to');
      const context = { clickhouse: storage.client, config, logger };
      const found: StoredAlert[] = [];
      for (const detector of detectors) found.push(...(await backtest(context, detector, { from, to })));
      if (options.store) await upsertAlerts(storage.client, found, Date.now());
      printAlerts(found, options.json);
      process.stderr.write(`${found.length} alerts from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}${options.store ? ' (stored)' : ' (not stored; add --store to keep them)'}\n`);
      return;
    }
    const service = startDetector({ config, logger, clickhouse: storage.client, registry: createRegistry(), detectors });
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
    await storage.close();
  }
}

function selectDetectors(name: string | undefined) {
  const all = createDetectors();
  if (name === undefined) return all;
  if (!DETECTOR_NAMES.includes(name)) {
    throw new ConfigError(`unknown detector ${JSON.stringify(name)}: expected one of ${DETECTOR_NAMES.join(', ')}`);
  }
  return all.filter((detector) => detector.name === name);
}

function printAlerts(alerts: readonly StoredAlert[], json: boolean | undefined): void {
  for (const alert of alerts) process.stdout.write(json ? `${JSON.stringify(alert)}\n` : `${renderAlertPlain(alert)}\n\n`);
}

