import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { detectorsConfigSchema } from '@tokenwatch/detector/config';
import { watchedCredential } from '@tokenwatch/detector/detectors/watched-credential/index';
import { backtest } from '@tokenwatch/detector/engine';
import type { Logger } from '@tokenwatch/shared/log';
import { WEEK_MS } from '@tokenwatch/shared/time';
import { iocMatchDrafts, sweepMatchSchema } from '@tokenwatch/detector/sweep/sweep';
import { triageAlert, triageRequestSchema, triageResultSchema } from '@tokenwatch/detector/triage/triage';
import { addWatch, newWatchSchema, removeWatch, watchJsonSchema, watchRemovalSchema } from '@tokenwatch/detector/watch/watch-list';

/**
 * The few writes an operator makes from the command line while the embedded engine is held by
 * a running `tokenwatch start`: add or remove a watch, store a sweep's ioc_match alerts,
 * triage an alert (ack, resolve, suppress, verdict: the detector's triage/triage.ts). Each
 * is a typed request (zod) that this module turns into exactly one kind of write; there is no
 * way to send SQL through it. The query server serves these on their own path (/action) with
 * the service's writable client, and `tokenwatch sql` keeps its read-only path (/query) and
 * connection untouched.
 */
/** Most sweep matches in one ioc_alerts action. */
export const MAX_MATCHES_PER_ACTION = 2_000;

export const operatorActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('watch_add'), watch: newWatchSchema }),
  z.strictObject({ action: z.literal('watch_remove'), removal: watchRemovalSchema }),
  z.strictObject({
    action: z.literal('ioc_alerts'),
    // A request stays under the query server's body limit (1.1 MB); the CLI sends larger sweeps in batches of whole clients.
    matches: z.array(sweepMatchSchema).max(MAX_MATCHES_PER_ACTION),
    from: z.number().int().nonnegative(),
    to: z.number().int().nonnegative(),
    indicators_swept: z.number().int().nonnegative(),
  }),
  z.strictObject({ action: z.literal('alert_triage'), triage: triageRequestSchema }),
]);
export type OperatorAction = z.input<typeof operatorActionSchema>;

export const operatorResultSchema = z.union([
  // raised: alerts a new watch with a past --since found at once in stored history.
  z.strictObject({ watch: watchJsonSchema, raised: z.number().int().nonnegative().optional() }),
  z.strictObject({ raised: z.number().int().nonnegative(), updated: z.number().int().nonnegative() }),
  z.strictObject({ triaged: triageResultSchema }),
]);
export type OperatorResult = z.output<typeof operatorResultSchema>;

export async function runOperatorAction(client: ClickHouseClient, logger: Logger, input: OperatorAction, now = Date.now()): Promise<OperatorResult> {
  const action = operatorActionSchema.parse(input);
  switch (action.action) {
    case 'watch_add': {
      const watch = await addWatch(client, action.watch, now);
      if (watch.since >= now) return { watch, raised: 0 };
      // A watch that starts in the past: what already happened is found now, as a backtest of
      // watched_credential over [since, now) would, and stored. Live ticks only see new rows.
      // Week-long slices: the detector's queries read only the watched clients' rows.
      const context = { clickhouse: client, config: detectorsConfigSchema.parse({}), logger };
      const found = await backtest(context, watchedCredential, { from: watch.since, to: now, sliceMs: WEEK_MS });
      const { raised } = await upsertAlerts(client, found, now);
      return { watch, raised: raised.length };
    }
    case 'watch_remove':
      return { watch: await removeWatch(client, action.removal, now) };
    case 'ioc_alerts': {
      const drafts = iocMatchDrafts(action.matches, { from: action.from, to: action.to }, action.indicators_swept);
      const { raised, updated } = await upsertAlerts(client, drafts, now);
      return { raised: raised.length, updated: updated.length };
    }
    case 'alert_triage':
      return { triaged: await triageAlert(client, action.triage, now) };
  }
}
