/**
 * One round of `npm run bench:rollups-behind` (rollups-behind.bench.ts), in a process of its own
 * (chDB binds one data directory per process): a fresh directory, a backlog of <events> requests
 * stored without a rollup refresh (the detector was down: ingestion alone ran), in inserts of
 * 25,000 (each its own arrival time, so windows can be cut), then a fresh jti replay as the last
 * two arrivals. Then the service's ticks (every enabled detector in turn, ticks back to back
 * while any is behind), timed from the first tick's start:
 *   - `unbounded`: one refresh of the whole backlog first, as the first tick did before the
 *     refresh was bounded (the rollups are then caught up, so the ticks behave as before);
 *   - `bounded`: the ticks as they are (at most catch_up_windows_per_tick windows per refresh).
 * The longest detector tick counts the unbounded refresh in the first one, as runTick did.
 * Prints one JSON line: {variant, events, firstExaminedSeconds, firstTickSeconds, anyAlertSeconds,
 * freshAlertSeconds, caughtUpSeconds, ticks, maxDetectorTickSeconds}.
 *   tsx test/bench/rollups-behind-run.ts <bounded|unbounded> <events>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { createDetectors } from '@tokenwatch/detector/registry';
import { createLogger } from '@tokenwatch/shared/log';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { sql } from '@tokenwatch/shared/storage/sql';
import { openLoadStorage } from './detect-history.js';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const FRESH_REPLAY = sql(import.meta.url, './rollups-behind-replay.sql');
const INSERT_ROWS = 25_000;
const HOUR_MS = 3_600_000;
const FRESH_JTI = 'bench-fresh-replay';

const [variant, events] = z.tuple([z.enum(['bounded', 'unbounded']), z.coerce.number().int().positive()]).parse(process.argv.slice(2));
const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-rollups-behind-'));
const { clickhouse } = await openLoadStorage(dataDir);
try {
  const client = clickhouse.client;
  // The last hour of traffic, so every detector's first tick (an hour back) takes all of it.
  const endMs = Date.now();
  for (let offset = 0; offset < events; offset += INSERT_ROWS) {
    const count = Math.min(INSERT_ROWS, events - offset);
    await client.command({
      query: HISTORY,
      query_params: { prefix: `h${offset}-`, start_ms: endMs - HOUR_MS + Math.floor((offset / events) * HOUR_MS), span_ms: Math.floor((count / events) * HOUR_MS), count },
    });
  }
  await client.command({ query: FRESH_REPLAY, query_params: { jti: FRESH_JTI } });

  // No safety lag: every insert above has returned, so its rows are visible.
  const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'bench').detectors;
  const context = { clickhouse: client, config, logger: createLogger('silent') };
  const detectors = createDetectors().filter((detector) => detector.enabled(config));
  const started = performance.now();
  const since = () => (performance.now() - started) / 1000;
  if (variant === 'unbounded') await refreshRollups(client, { until: Date.now(), maxWindowEvents: config.max_window_events });
  let firstExaminedSeconds: number | undefined;
  let firstTickSeconds: number | undefined;
  let anyAlertSeconds: number | undefined;
  let freshAlertSeconds: number | undefined;
  // The unbounded variant's refresh is part of its first detector tick, as it was in runTick.
  let maxDetectorTickSeconds = since();
  let ticks = 0;
  for (let behind = true; behind; ) {
    behind = false;
    ticks += 1;
    const now = Date.now();
    for (const detector of detectors) {
      const tickStarted = performance.now();
      const result = await runTick(context, detector, now);
      const tickSeconds = (performance.now() - tickStarted) / 1000;
      maxDetectorTickSeconds = Math.max(maxDetectorTickSeconds, firstExaminedSeconds === undefined ? since() : tickSeconds);
      firstExaminedSeconds ??= since();
      if (result.raised.length > 0) anyAlertSeconds ??= since();
      if (result.raised.some((alert) => alert.finding === 'jti_replay' && alert.alert_key === FRESH_JTI)) freshAlertSeconds ??= since();
      behind ||= result.behind;
    }
    firstTickSeconds ??= since();
    if (ticks > 1_000) throw new Error('no catch-up after 1,000 ticks');
  }
  const caughtUpSeconds = since();
  console.log(JSON.stringify({ variant, events, firstExaminedSeconds, firstTickSeconds, anyAlertSeconds, freshAlertSeconds, caughtUpSeconds, ticks, maxDetectorTickSeconds }));
} finally {
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
}
