/**
 * npm run bench:detect — what one detector tick costs with 1 million and with 50 million
 * events stored (BENCH_SIZES, comma-separated). A tick must cost O(new data), not O(history):
 * the ratio of the two medians is the figure docs/benchmarks.md quotes.
 *
 * For each size: a child process (detect-load.ts) generates that much history (21 days, 500
 * clients) inside ClickHouse through the real input view and rollups, with a larger engine
 * memory limit than tokenwatch's default (BENCH_LOAD_MEMORY_LIMIT_MB, default 4096), and exits. This process then opens the same
 * directory as `tokenwatch start` would, with the default engine limit (the table prints the
 * limit the engine reports), sets every watermark to now, then BENCH_ROUNDS times (default 5)
 * stores a batch of BENCH_NEW_EVENTS (default 10,000) new events and times one tick of each
 * detector over them. A tick query the engine refuses fails the bench; it is never timed. The
 * first round also pays for mint_volume's baseline cache (one read of 14 days of per-minute
 * counts per client); it is reported apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { createDetectors } from '@tokenwatch/detector/registry';
import { writeWatermark } from '@tokenwatch/detector/watermarks';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse, type ClickHouseClient } from '@tokenwatch/shared/storage/clickhouse';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { detectBenchShape, loadDetectHistory, median } from './detect-history.js';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const ENGINE_LIMIT = sql(import.meta.url, './detect-engine-limit.sql');
const ACTIVE_PARTS = sql(import.meta.url, './detect-active-parts.sql');
const { sizes: SIZES, rounds: ROUNDS, newEvents: NEW_EVENTS } = detectBenchShape({ sizes: [1_000_000, 50_000_000], rounds: 5 });

async function measure(size: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-detect-'));
  try {
    const load = await loadDetectHistory(dataDir, size);
    process.stderr.write(`  ${size.toLocaleString('en')} events stored in ${load.loadSeconds.toFixed(0)} s (engine limit ${load.loadLimitMb} MiB)\n`);
    // No engine memory settings: the defaults `tokenwatch start` runs with.
    const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
    try {
      return { size, ...load, ...(await measureTicks(clickhouse.client)) };
    } finally {
      await clickhouse.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureTicks(client: ClickHouseClient) {
  const [engine] = await queryRows(client, ENGINE_LIMIT, {}, z.object({ limit_mb: z.coerce.number().int() }));
  const [parts] = await queryRows(client, ACTIVE_PARTS, {}, z.object({ parts: z.coerce.number().int() }));
  const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'bench').detectors;
  const context = { clickhouse: client, config, logger: createLogger('silent') };
  const detectors = createDetectors();
  // The history's ingested_at are all behind now: its loader has exited before this process opened the directory.
  for (const detector of detectors) await writeWatermark(client, detector.name, Date.now());

  const perDetector = new Map<string, number[]>(detectors.map((detector) => [detector.name, []]));
  const totals: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const batchEnd = Date.now();
    await client.command({
      query: HISTORY,
      query_params: { prefix: `n${round}-`, start_ms: batchEnd - 10_000, span_ms: 10_000, count: NEW_EVENTS },
    });
    let total = 0;
    for (const detector of detectors) {
      const started = performance.now();
      await runTick(context, detector, Date.now());
      const ms = performance.now() - started;
      perDetector.get(detector.name)?.push(ms);
      total += ms;
    }
    totals.push(total);
  }
  const steady = (values: number[]) => median(values.slice(1));
  return {
    engineLimitMb: engine?.limit_mb ?? NaN,
    partsAtStart: parts?.parts ?? NaN,
    firstTickMs: totals[0] ?? NaN,
    tickMs: steady(totals),
    detectors: Object.fromEntries([...perDetector].map(([name, values]) => [name, { first: values[0] ?? NaN, median: steady(values) }])),
  };
}

const results = [];
for (const size of SIZES) {
  process.stderr.write(`measuring ticks with ${size.toLocaleString('en')} stored events...\n`);
  results.push(await measure(size));
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`\nDetector tick over ${NEW_EVENTS.toLocaleString('en')} new events, ${ROUNDS} rounds (first round = cold baseline cache; median of the rest):\n`);
// A column per detector, in the order they tick; the first tick in brackets (mint_volume's cold cache).
const names = createDetectors().map((detector) => detector.name);
console.log(`| stored events | load | engine limit (load / ticks) | parts at first tick | first tick | tick (median) | ${names.join(' | ')} |`);
console.log(`|${'---:|'.repeat(6 + names.length)}`);
for (const r of results) {
  const d = r.detectors as Record<string, { first: number; median: number }>;
  const cells = names.map((name) => `${fmt(d[name]?.median ?? NaN)} (first ${fmt(d[name]?.first ?? NaN)})`);
  console.log(`| ${r.size.toLocaleString('en')} | ${r.loadSeconds.toFixed(0)} s | ${r.loadLimitMb} / **${r.engineLimitMb} MiB** | ${r.partsAtStart} | ${fmt(r.firstTickMs)} | ${fmt(r.tickMs)} | ${cells.join(' | ')} |`);
}
if (results.length > 1) {
  const [small, large] = [results[0]!, results.at(-1)!];
  console.log(`\nratio of median ticks, ${large.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')} stored: ${(large.tickMs / small.tickMs).toFixed(2)}`);
}
