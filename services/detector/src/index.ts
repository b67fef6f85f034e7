import type { ClickHouseClient } from '@clickhouse/client';
import cron from 'node-cron';
import type { DetectorsConfig } from './config.js';
import type { DetectContext, Detector } from './detector.js';
import { backtest, rollUpStoredHistory, runTick, type TickResult } from './engine.js';
import { upsertAlerts } from './alerts-store.js';
import type { AlertDraft, StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { NO_INVENTORY, type InventorySource } from '@tokenwatch/shared/inventory/watch';
import { createDetectors } from './registry.js';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { createDetectorMetrics } from '@tokenwatch/shared/metrics';
import type { Registry } from 'prom-client';

export interface DetectorService {
  /** Runs every enabled detector once now (what a scheduled tick does). */
  tick(): Promise<TickResult[]>;
  /** Stops scheduling and waits for a tick in progress. */
  stop(): Promise<void>;
}

/**
 * The detectors on a schedule: each tick runs every enabled detector over what arrived since
 * its watermark. Ticks never overlap (a slow tick delays the next; the watermark makes the
 * next one catch up; a tick that is behind is followed at once by the next), and a failing
 * detector is logged and retried at the next tick without holding the others back.
 */
export function startDetector(options: {
  config: DetectorsConfig;
  logger: Logger;
  clickhouse: ClickHouseClient;
  registry: Registry;
  detectors?: readonly Detector[];
  /** The client inventory, re-read at every tick (it reloads when its file changes). */
  inventory?: InventorySource;
}): DetectorService {
  const { config, clickhouse } = options;
  const logger = options.logger.child({ component: 'detector' });
  if (!cron.validate(config.schedule)) throw new ConfigError(`invalid configuration at detectors.schedule: not a cron expression (${JSON.stringify(config.schedule)})`);
  const detectors = (options.detectors ?? createDetectors()).filter((detector) => detector.enabled(config));
  const metrics = createDetectorMetrics(options.registry);
  const inventory = options.inventory ?? NO_INVENTORY;

  let running: Promise<TickResult[]> | undefined;
  async function runAll(): Promise<TickResult[]> {
    const results: TickResult[] = [];
    // One inventory for the whole tick: every detector sees the same owners and criticality.
    const context: DetectContext = { clickhouse, config, logger, inventory: inventory.current() };
    for (const detector of detectors) {
      const stopTimer = metrics.runSeconds.startTimer({ detector: detector.name });
      try {
        const result = await runTick(context, detector, Date.now());
        results.push(result);
        metrics.watermarkAgeSeconds.set({ detector: detector.name }, (Date.now() - result.until) / 1000);
        for (const alert of result.raised) {
          metrics.alertsRaised.inc({ finding: alert.finding });
          logger.warn({ alert_id: alert.alert_id, finding: alert.finding, severity: alert.severity, client_id: alert.client_id }, alert.summary);
        }
        for (const alert of [...result.updated, ...result.resolved]) metrics.alertsUpdated.inc({ finding: alert.finding });
      } catch (error) {
        metrics.runErrors.inc({ detector: detector.name });
        logger.error({ detector: detector.name, err: errorMessage(error) }, 'detector run failed; retrying from the same watermark at the next tick');
      } finally {
        stopTimer();
      }
    }
    return results;
  }

  let stopped = false;
  function tick(): Promise<TickResult[]> {
    // One tick at a time, whether started by the schedule or by a caller.
    running ??= runAll().finally(() => {
      running = undefined;
    });
    return running;
  }

  // A tick that left a backlog (runTick examines a bounded part of it, after a fresh look)
  // is followed at once by the next, not at the next scheduled time: catching up runs
  // back to back, and each tick looks at the newest arrivals first.
  async function scheduledTick(): Promise<void> {
    for (let results = await tick(); !stopped && results.some((result) => result.behind); ) results = await tick();
  }

  // node-cron's own logger prints coloured text on the console; a skipped (overlapping) run is
  // expected while a tick catches up, so it goes to the JSON log at debug level.
  const cronLogger = {
    info: (message: string) => logger.debug({ lib: 'node-cron' }, message),
    warn: (message: string) => logger.debug({ lib: 'node-cron' }, message),
    error: (message: string | Error, err?: Error) => logger.error({ lib: 'node-cron', err: errorMessage(err ?? message) }, String(message)),
    debug: (message: string | Error) => logger.debug({ lib: 'node-cron' }, String(message)),
  };
  const task = cron.schedule(config.schedule, () => scheduledTick(), { name: 'tokenwatch-detectors', timezone: 'UTC', noOverlap: true, logger: cronLogger });
  logger.info({ detectors: detectors.map((detector) => detector.name), schedule: config.schedule }, 'detectors scheduled');
  return {
    tick,
    stop: async () => {
      stopped = true;
      await task.destroy();
      await running;
    },
  };
}

/**
 * A backtest of stored history: every given detector over the events that happened in
 * [from, to), examined as if each slice had just arrived. Prints nothing and moves no
 * watermark; with `store` the alerts found are upserted like live ones (idempotent by
 * fingerprint), so a tuned configuration can be tried before it pages anyone.
 */
export async function runBacktest(
  context: DetectContext,
  detectors: readonly Detector[],
  { from, to, store }: { from: number; to: number; store: boolean },
): Promise<StoredAlert[]> {
  const found: StoredAlert[] = [];
  // One roll-up (and at most one wait for the safety lag) for all of them: they judge the same history.
  const storedUntil = await rollUpStoredHistory(context);
  for (const detector of detectors) found.push(...(await backtest(context, detector, { from, to, storedUntil })));
  // The alerts found are already stamped with their ownership (and raised severity): store them as found.
  if (store) await upsertAlerts(context.clickhouse, found.map(asStampedDraft), Date.now());
  return found;
}

function asStampedDraft(alert: StoredAlert): AlertDraft {
  const { owner, team, slack_channel, criticality } = alert;
  return { ...alert, ownership: { owner, team, slack_channel, criticality, detector_severity: alert.detector_severity || alert.severity } };
}
