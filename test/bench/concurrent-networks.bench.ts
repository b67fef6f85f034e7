/**
 * npm run bench:concurrent-networks — concurrent_networks' tick with its checkpoints
 * (scan-cache.ts) against the same detector reading every candidate's whole rollup history (a
 * cache that keeps nothing: the path every tick took before the checkpoints), over the same
 * windows, in alternating order, per stored size (BENCH_SIZES, default 1M and 5M: the growth
 * shows without 50M). The history is bench:detect's (detect-load.ts: 21 days, 500 clients, one
 * in 50 multi-region and so a candidate on every tick); each round stores BENCH_NEW_EVENTS
 * (10,000) new events and runs both variants' detect() over that arrival window. Medians leave
 * out the first round (the checkpoints' cold read). Prints a table for docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@tokenwatch/server/config-file';
import { createConcurrentNetworks } from '@tokenwatch/detector/detectors/concurrent-networks/index';
import { ScanCache } from '@tokenwatch/detector/detectors/concurrent-networks/scan-cache';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse, type ClickHouseClient } from '@tokenwatch/shared/storage/clickhouse';
import { sql } from '@tokenwatch/shared/storage/sql';
import { detectBenchShape, loadDetectHistory, median } from './detect-history.js';

const HISTORY = sql(import.meta.url, './detect-history.sql');
const { sizes: SIZES, rounds: ROUNDS, newEvents: NEW_EVENTS } = detectBenchShape({ sizes: [1_000_000, 5_000_000], rounds: 7 });

async function measure(size: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-cn-'));
  try {
    await loadDetectHistory(dataDir, size);
    const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
    try {
      return { size, ...(await measureTicks(clickhouse.client)) };
    } finally {
      await clickhouse.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureTicks(client: ClickHouseClient) {
  const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'bench').detectors;
  const context = { clickhouse: client, config, logger: createLogger('silent') };
  const cache = new ScanCache();
  const variants = [
    { name: 'checkpoints', detector: createConcurrentNetworks(cache), times: [] as number[] },
    { name: 'whole history', detector: createConcurrentNetworks(new ScanCache({ maxScopes: 0, maxSavedItems: 0 })), times: [] as number[] },
  ];
  for (let round = 0; round < ROUNDS; round += 1) {
    const batchEnd = Date.now();
    const ingestedAfter = batchEnd - 1;
    await client.command({ query: HISTORY, query_params: { prefix: `cn${round}-`, start_ms: batchEnd - 10_000, span_ms: 10_000, count: NEW_EVENTS } });
    const window = { ingestedAfter, ingestedUntil: Date.now(), timeFrom: batchEnd - 60_000, timeTo: batchEnd + 60_000, now: Date.now() };
    const found = new Map<string, string>();
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const started = performance.now();
      const drafts = await variant.detector.detect(context, window);
      variant.times.push(performance.now() - started);
      found.set(variant.name, JSON.stringify(drafts.map((draft) => [draft.client_id, draft.alert_key, draft.evidence]).sort()));
    }
    // Small histories are sparse: a multi-region client's three networks in one batch are then a real burst. Both must agree.
    if (new Set(found.values()).size !== 1) throw new Error(`round ${round}: the variants' alerts differ`);
  }
  return { variants: variants.map((variant) => ({ name: variant.name, first: variant.times[0] ?? NaN, median: median(variant.times.slice(1)) })), cache: cache.size };
}

const results = [];
for (const size of SIZES) {
  process.stderr.write(`measuring concurrent_networks with ${size.toLocaleString('en')} stored events...\n`);
  results.push(await measure(size));
}
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`\nconcurrent_networks detect() over ${NEW_EVENTS.toLocaleString('en')} new events, ${ROUNDS} rounds alternating the variants (median without the first round):\n`);
console.log('| stored events | checkpoints | whole history | whole / checkpoints | checkpoints kept (clients / scopes / saved items) |');
console.log('|---:|---:|---:|---:|---:|');
for (const r of results) {
  const [cached, whole] = r.variants;
  console.log(`| ${r.size.toLocaleString('en')} | ${fmt(cached?.median ?? NaN)} (first ${fmt(cached?.first ?? NaN)}) | ${fmt(whole?.median ?? NaN)} | ${((whole?.median ?? NaN) / (cached?.median ?? NaN)).toFixed(2)} | ${r.cache.clients} / ${r.cache.scopes} / ${r.cache.savedItems} |`);
}
if (results.length > 1) {
  const [small, large] = [results[0]!, results.at(-1)!];
  for (const [i, name] of ['checkpoints', 'whole history'].entries()) {
    console.log(`${name}: ${large.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')} stored: ${((large.variants[i]?.median ?? NaN) / (small.variants[i]?.median ?? NaN)).toFixed(2)}`);
  }
}
