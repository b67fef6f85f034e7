/**
 * npm run bench:detect — what one detector tick costs with 1 million and with 50 million
 * events stored (BENCH_SIZES, comma-separated). A tick must cost O(new data), not O(history):
 * the ratio of the two medians is the figure docs/benchmarks.md quotes.
 *
 * For each size: generate that much history (21 days, 500 clients) inside ClickHouse through
 * the real input view and rollups, set every watermark to now, then BENCH_ROUNDS times (default
 * 5) store a batch of BENCH_NEW_EVENTS (default 10,000) new events and time one tick of each
 * detector over them. The first round also pays for mint_volume's baseline cache (one read
 * of 14 days of per-minute counts per client); it is reported apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { createDetectors } from '@tokenwatch/detector/registry';
import { writeWatermark } from '@tokenwatch/detector/watermarks';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { sql } from '@tokenwatch/shared/storage/sql';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const SIZES = (process.env.BENCH_SIZES ?? '1000000,50000000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const NEW_EVENTS = Number(process.env.BENCH_NEW_EVENTS ?? 10_000);
const DAY = 86_400_000;
const CHUNK = 5_000_000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function measure(size: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-detect-'));
  const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
  try {
    await migrate(clickhouse.client, { retention_days: 7_300 });
    const end = Date.now() - 60_000;
    const span = 21 * DAY;
    const loadStart = performance.now();
    // In chunks, each its own slice of the 21 days, so no single insert holds 50M rows in memory.
    for (let offset = 0; offset < size; offset += CHUNK) {
      const count = Math.min(CHUNK, size - offset);
      await clickhouse.client.command({
        query: HISTORY,
        query_params: { prefix: `h${offset}-`, start_ms: end - span + Math.floor((offset / size) * span), span_ms: Math.floor((count / size) * span), count },
      });
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    process.stderr.write(`  ${size.toLocaleString('en')} events stored in ${loadSeconds.toFixed(0)} s\n`);

    const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'bench').detectors;
    const context = { clickhouse: clickhouse.client, config, logger: createLogger('silent') };
    const detectors = createDetectors();
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const detector of detectors) await writeWatermark(clickhouse.client, detector.name, Date.now());

    const perDetector = new Map<string, number[]>(detectors.map((detector) => [detector.name, []]));
    const totals: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const batchEnd = Date.now();
      await clickhouse.client.command({
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
      size,
      loadSeconds,
      firstTickMs: totals[0] ?? NaN,
      tickMs: steady(totals),
      detectors: Object.fromEntries([...perDetector].map(([name, values]) => [name, { first: values[0] ?? NaN, median: steady(values) }])),
    };
  } finally {
    await clickhouse.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
console.log(`| stored events | load | first tick | tick (median) | ${names.join(' | ')} |`);
console.log(`|${'---:|'.repeat(4 + names.length)}`);
for (const r of results) {
  const d = r.detectors as Record<string, { first: number; median: number }>;
  const cells = names.map((name) => `${fmt(d[name]?.median ?? NaN)} (first ${fmt(d[name]?.first ?? NaN)})`);
  console.log(`| ${r.size.toLocaleString('en')} | ${r.loadSeconds.toFixed(0)} s | ${fmt(r.firstTickMs)} | ${fmt(r.tickMs)} | ${cells.join(' | ')} |`);
}
if (results.length > 1) {
  const [small, large] = [results[0]!, results.at(-1)!];
  console.log(`\nratio of median ticks, ${large.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')} stored: ${(large.tickMs / small.tickMs).toFixed(2)}`);
}
