/**
 * npm run bench:sweep — `tokenwatch sweep` of 1,000 indicators over 10 and then 50 million
 * stored requests (BENCH_SIZES). The history is generated inside ClickHouse (sweep-history.sql)
 * into token_requests, then rolled up as the detector's tick would (refreshRollups; every rollup,
 * not only the client_locations the sweep reads, since migration 0017 removed the views); at each size two indicator files are swept BENCH_ROUNDS times (default 3) each, and
 * the median time is reported:
 *
 * - mixed: 1,000 indicators of every kind (single IPv4 and IPv6 addresses, narrow and wide
 *   ranges, ASNs, ua: fragments), some of which match: the requests path.
 * - rollup: 1,000 ASNs and ranges of /24 (IPv4) or /48 (IPv6) and wider: client_locations
 *   answers which clients match, and only their requests are counted.
 *
 * The sweep runs here on the process's own client, not through the read-only limits of
 * `tokenwatch sql` (TOKENWATCH_SQL_TIMEOUT_SECONDS bounds that path).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIndicators } from '@tokenwatch/detector/sweep/indicators';
import { sweep, type SweepReader } from '@tokenwatch/detector/sweep/sweep';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { sql } from '@tokenwatch/shared/storage/sql';

const HISTORY = sql(import.meta.url, './sweep-history.sql');
// Sizes at which the sweeps are measured, in the order the history grows to them.
const SIZES = (process.env.BENCH_SIZES ?? '10000000,50000000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DAY = 86_400_000;
const SPAN = 30 * DAY;
const CHUNK = 5_000_000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** 1,000 indicators of every kind; about one in ten matches a stored client. */
function mixedIndicators(): string {
  const lines: string[] = ['# bench: mixed indicators'];
  for (let i = 0; i < 400; i += 1) lines.push(i % 10 === 0 ? `${20 + (i % 7)}.${i % 256}.${i % 7}.${10 + (i % 8)}` : `198.18.${i % 256}.${i % 200}`);
  for (let i = 0; i < 150; i += 1) lines.push(i % 10 === 0 ? `2a05:d0${(i % 256).toString(16).padStart(2, '0')}:1::${(i % 8) + 1}` : `2001:db8:${i.toString(16)}::1`);
  for (let i = 0; i < 200; i += 1) lines.push(`${i % 10 === 0 ? 20 + (i % 7) : 100}.${i % 256}.${i % 7}.0/${25 + (i % 4)}`);
  for (let i = 0; i < 100; i += 1) lines.push(`2001:db8:${(0x1000 + i).toString(16)}::/${49 + (i % 16)}`);
  for (let i = 0; i < 75; i += 1) lines.push(`AS${i % 10 === 0 ? 64500 + i : 4_200_000_000 + i}`);
  for (let i = 0; i < 75; i += 1) lines.push(i % 25 === 0 ? `ua:agent-${i % 20}/` : `ua:evil-tool-${i}`);
  return lines.join('\n');
}

/** 1,000 indicators the client_locations rollup answers: ASNs and /24-or-wider ranges. */
function rollupIndicators(): string {
  const lines: string[] = ['# bench: ASNs and wide ranges'];
  for (let i = 0; i < 500; i += 1) lines.push(`AS${i % 50 === 0 ? 64500 + (i % 50) + i / 50 : 4_100_000_000 + i}`);
  for (let i = 0; i < 300; i += 1) lines.push(i % 30 === 0 ? `${20 + (i % 7)}.${i % 256}.0.0/16` : `100.${i % 256}.${i % 200}.0/24`);
  for (let i = 0; i < 200; i += 1) lines.push(i % 20 === 0 ? `2a05:d0${(i % 256).toString(16).padStart(2, '0')}::/32` : `2001:db8:${(0x2000 + i).toString(16)}::/48`);
  return lines.join('\n');
}

// BENCH_DATA_DIR keeps the generated history between runs (it only grows).
const keep = process.env.BENCH_DATA_DIR;
const dataDir = keep ?? mkdtempSync(join(tmpdir(), 'tokenwatch-bench-sweep-'));
const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
const rows: string[] = [];
try {
  await migrate(clickhouse.client, { retention_days: 7_300 });
  const end = Date.now() - 60_000;
  const read: SweepReader = async (query, params) => (await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' })).json();
  const count = async () => Number((await (await clickhouse.client.query({ query: 'SELECT count() AS n FROM token_requests', format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n ?? 0);
  const loadStart = performance.now();
  for (const size of SIZES) {
    // Each chunk is its own slice of the 30 days, numbered on from what is stored.
    for (let offset = await count(); offset < size; offset += CHUNK) {
      const rowsNow = Math.min(CHUNK, size - offset);
      await clickhouse.client.command({
        query: HISTORY,
        query_params: { prefix: `s${offset}-`, start_ms: end - SPAN + Math.floor((offset / SIZES.at(-1)!) * SPAN), span_ms: Math.floor((rowsNow / SIZES.at(-1)!) * SPAN), count: rowsNow },
      });
      process.stderr.write(`  ${(offset + rowsNow).toLocaleString('en')} stored (${((performance.now() - loadStart) / 1000).toFixed(0)} s)\n`);
    }
    // The sweep reads client_locations as the detector's tick leaves it (shared/src/storage/rollups/refresh.ts).
    await refreshRollups(clickhouse.client, { until: Date.now() });
    const stored = await count();
    for (const [name, text] of [['mixed', mixedIndicators()], ['rollup', rollupIndicators()]] as const) {
      const indicators = parseIndicators(text);
      const times: number[] = [];
      let matches = 0;
      let clients = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        const started = performance.now();
        const found = await sweep(read, indicators, { from: 0, to: Date.now() });
        times.push(performance.now() - started);
        matches = found.length;
        clients = new Set(found.map((match) => `${match.tenant}/${match.client_id}`)).size;
      }
      const row = `| ${stored.toLocaleString('en')} | ${name} | ${indicators.count} | ${matches} (${clients}) | ${median(times).toFixed(0)} ms | ${times.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} |`;
      rows.push(row);
      process.stderr.write(`${row}\n`);
    }
  }
  console.log(`\nSweep of 1,000 indicators (30 days, 2,000 clients; history loaded in ${((performance.now() - loadStart) / 1000).toFixed(0)} s), ${ROUNDS} rounds:\n`);
  console.log('| stored requests | indicator file | indicators | matches (clients) | sweep (median) | each round |');
  console.log('|---:|---|---:|---:|---:|---|');
  for (const row of rows) console.log(row);
} finally {
  await clickhouse.close();
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
}
