/**
 * The rollups' share of ingestion since migration 0017, for `npm run bench:ingest`: the detector's
 * tick rolls up what `tokenwatch ingest` stored (shared/src/storage/rollups/refresh.ts), so the
 * bench times that refresh over the stored events, in its bounded windows, after the ingest
 * process has exited (chDB binds one data directory per process, hence a child of its own).
 * Prints one JSON line: {events, seconds, cpuSeconds, windows, peakRssMb}.
 *   tsx test/bench/rollup-refresh.ts <dataDir>
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { queryRows } from '@tokenwatch/shared/storage/sql';

const [dataDir] = z.tuple([z.string().min(1)]).parse(process.argv.slice(2));
// tokenwatch's own defaults (the engine limit included): what a tick runs under.
const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
try {
  const [stored] = await queryRows(clickhouse.client, 'SELECT count() AS n FROM token_requests', {}, z.object({ n: z.coerce.number() }));
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const { windows } = await refreshRollups(clickhouse.client, { until: Date.now() });
  const cpu = process.cpuUsage(cpuAtStart);
  const seconds = (performance.now() - started) / 1000;
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  console.log(JSON.stringify({ events: stored?.n ?? 0, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, windows, peakRssMb: Math.round(peakRssKb / 1024) }));
} finally {
  await clickhouse.close();
}
