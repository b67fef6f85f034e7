/**
 * The history of `npm run bench:detect`, loaded in a child process of its own: the bench
 * measures ticks under tokenwatch's default engine memory limit, but generating millions of
 * rows with one INSERT ... SELECT (and rolling them up: refreshRollups) needs more than that
 * limit (at 320 MiB even 200k-row chunks were refused when views rolled up on insert). chDB reads its limit once, when a process first opens
 * the directory, so this process opens it with BENCH_LOAD_MEMORY_LIMIT_MB (default 4096),
 * migrates, loads, closes and exits; the bench then opens the same directory with the defaults.
 * Prints one JSON line: {loadSeconds, loadLimitMb, rollupSeconds, rollupWindows}.
 *   tsx test/bench/detect-load.ts <dataDir> <events> <endMs>
 */
import { z } from 'zod';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { sql } from '@tokenwatch/shared/storage/sql';
import { openLoadStorage } from './detect-history.js';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const DAY_MS = 86_400_000;
/** 21 days of history, ending at endMs. */
const SPAN_MS = 21 * DAY_MS;
/** Rows per INSERT ... SELECT: each its own slice of the span, so no insert holds 50M rows in memory. */
const CHUNK = 5_000_000;

const [dataDir, events, endMs] = z
  .tuple([z.string().min(1), z.coerce.number().int().positive(), z.coerce.number().int().positive()])
  .parse(process.argv.slice(2));
const { clickhouse, loadLimitMb } = await openLoadStorage(dataDir);
try {
  const started = performance.now();
  for (let offset = 0; offset < events; offset += CHUNK) {
    const count = Math.min(CHUNK, events - offset);
    await clickhouse.client.command({
      query: HISTORY,
      query_params: {
        prefix: `h${offset}-`,
        start_ms: endMs - SPAN_MS + Math.floor((offset / events) * SPAN_MS),
        span_ms: Math.floor((count / events) * SPAN_MS),
        count,
      },
    });
  }
  const loadSeconds = (performance.now() - started) / 1000;
  // The rollups as the detector's ticks would have left them (refresh.ts), in its bounded
  // windows; timed apart from the load. The bench's own tick then finds them up to date.
  const rollupStarted = performance.now();
  const { windows } = await refreshRollups(clickhouse.client, { until: Date.now() });
  const rollupSeconds = (performance.now() - rollupStarted) / 1000;
  console.log(JSON.stringify({ loadSeconds, loadLimitMb, rollupSeconds, rollupWindows: windows }));
} finally {
  await clickhouse.close();
}
