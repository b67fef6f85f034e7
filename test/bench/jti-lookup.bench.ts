/**
 * npm run bench:jti-lookup — jti_replay's look-up of a tick's new jtis, before and after
 * migration 0016, on the same stored history, with 1 million and with 5 million events stored
 * (BENCH_SIZES, comma-separated; bench:detect's history: 21 days, 500 clients, two in three
 * with a random-looking jti per request).
 *
 * - by week: the pre-0016 query (jti-lookup-by-week.sql) over `jti_uses`, ordered by (tenant,
 *   jti): every week since 7 days before the window. The bench fills `jti_uses` itself
 *   (jti-uses-fill.sql), as its dropped view did.
 * - by hour: the detector's reused-jtis.sql over `jti_use_hours` (tenant, hour, jti), with the
 *   parameters the detector passes (reusedJtisParams).
 *
 * Each of BENCH_ROUNDS rounds (default 7) stores BENCH_NEW_EVENTS (default 10,000) new events
 * and times both queries over them, in alternating order; the table gives the median of the
 * rounds after the first. The history is loaded by detect-load.ts in a child process; this
 * process opens the directory with BENCH_LOAD_MEMORY_LIMIT_MB (default 4096), which filling
 * `jti_uses` with millions of jtis needs: the look-ups need far less.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '@tokenwatch/server/config-file';
import { reusedJtisParams } from '@tokenwatch/detector/detectors/jti-replay/index';
import { openClickHouse, type ClickHouseClient } from '@tokenwatch/shared/storage/clickhouse';
import { sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS, HOUR_MS } from '@tokenwatch/shared/time';
import { detectBenchShape, loadDetectHistory, median } from './detect-history.js';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const FILL_JTI_USES = sql(import.meta.url, './jti-uses-fill.sql');
const BY_WEEK = sql(import.meta.url, './jti-lookup-by-week.sql');
const BY_HOUR = sql(import.meta.url, '../../services/detector/src/detectors/jti-replay/reused-jtis.sql');
const { sizes: SIZES, rounds: ROUNDS, newEvents: NEW_EVENTS } = detectBenchShape({ sizes: [1_000_000, 5_000_000], rounds: 7 });
const MEMORY_LIMIT_MB = z.coerce.number().int().positive().default(4096).parse(process.env.BENCH_LOAD_MEMORY_LIMIT_MB);
/** The pre-0016 look-up read every week since this long before the window (its REUSE_LOOKBACK_MS). */
const OLD_LOOKBACK_MS = 7 * DAY_MS;

async function timed(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  await result.json();
  return performance.now() - started;
}

async function measure(size: number): Promise<{ size: number; byWeek: number; byHour: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-jti-'));
  try {
    await loadDetectHistory(dataDir, size);
    const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: MEMORY_LIMIT_MB, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
    const client = clickhouse.client;
    try {
      await client.command({ query: FILL_JTI_USES, query_params: { ingested_after: toClickHouseTime(0) } });
      const config = parseConfig({}, 'bench').detectors;
      const byWeek: number[] = [];
      const byHour: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const ingestedAfter = Date.now() - 1;
        const batchEnd = Date.now();
        await client.command({ query: HISTORY, query_params: { prefix: `n${round}-`, start_ms: batchEnd - 10_000, span_ms: 10_000, count: NEW_EVENTS } });
        await client.command({ query: FILL_JTI_USES, query_params: { ingested_after: toClickHouseTime(ingestedAfter) } });
        const now = Date.now() + 1;
        const window = { ingestedAfter, ingestedUntil: now, timeFrom: batchEnd - HOUR_MS, timeTo: now, now };
        const run = {
          week: () => timed(client, BY_WEEK, { ...reusedJtisParams(config, window), uses_since: toClickHouseTime(window.timeFrom - OLD_LOOKBACK_MS) }),
          hour: () => timed(client, BY_HOUR, reusedJtisParams(config, window)),
        };
        const order = round % 2 === 0 ? (['week', 'hour'] as const) : (['hour', 'week'] as const);
        for (const which of order) (which === 'week' ? byWeek : byHour).push(await run[which]());
      }
      return { size, byWeek: median(byWeek.slice(1)), byHour: median(byHour.slice(1)) };
    } finally {
      await clickhouse.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (const size of SIZES) {
  process.stderr.write(`measuring jti look-ups with ${size.toLocaleString('en')} stored events...\n`);
  results.push(await measure(size));
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`\njti_replay's look-up of ${NEW_EVENTS.toLocaleString('en')} new events' jtis, median of ${ROUNDS - 1} rounds (alternating order):\n`);
console.log('| stored events | by week (jti_uses, before 0016) | by hour (jti_use_hours) | by week / by hour |');
console.log('|---:|---:|---:|---:|');
for (const r of results) console.log(`| ${r.size.toLocaleString('en')} | ${fmt(r.byWeek)} | ${fmt(r.byHour)} | ${(r.byWeek / r.byHour).toFixed(2)} |`);
if (results.length > 1) {
  const [small, large] = [results[0]!, results.at(-1)!];
  console.log(`\ngrowth, ${large.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')} stored: by week ${(large.byWeek / small.byWeek).toFixed(2)}, by hour ${(large.byHour / small.byHour).toFixed(2)}`);
}
