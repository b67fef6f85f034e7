/**
 * npm run bench:quality — detection quality at scale: three weeks of simulated traffic from
 * 300 clients (about 1.7 million requests, BENCH_CLIENTS / BENCH_DAYS / BENCH_SEED to vary),
 * every attack kind injected BENCH_ATTACKS_PER_KIND times (default 2), stored through the
 * real decoder and enrichment, backtested by every detector with default settings. Prints
 * attacks found and missed, benign alerts per million requests, and each phase's time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest } from '@tokenwatch/detector/engine';
import { createDetectors } from '@tokenwatch/detector/registry';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { scoreAlerts, storeSimulation } from '../helpers/simulation.js';

const DAYS = Number(process.env.BENCH_DAYS ?? 21);
const START = Date.UTC(2026, 9, 5);
const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-quality-'));
const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
try {
  await migrate(clickhouse.client, { retention_days: 7_300 });
  let started = performance.now();
  const { events, labels, allowlist } = await storeSimulation(clickhouse, {
    seed: Number(process.env.BENCH_SEED ?? 1),
    start: START,
    days: DAYS,
    clients: Number(process.env.BENCH_CLIENTS ?? 300),
    attacks: 'all',
    attacksPerKind: Number(process.env.BENCH_ATTACKS_PER_KIND ?? 2),
  });
  console.log(`stored ${events.toLocaleString('en')} simulated requests in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  // Default settings, plus the allowlist entry that announces the simulation's scope-adding deploy.
  const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { allowlist } }, 'defaults').detectors, logger: createLogger('silent') };
  const alerts: StoredAlert[] = [];
  for (const detector of createDetectors()) {
    started = performance.now();
    const found = await backtest(context, detector, { from: START, to: START + DAYS * 86_400_000 });
    alerts.push(...found);
    console.log(`backtest ${detector.name}: ${found.length} alerts in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const { missed, benign } = scoreAlerts(alerts, labels);
  console.log(`attacks found: ${labels.length - missed.length} of ${labels.length}${missed.length ? ` (missed: ${missed.map((l) => `${l.kind} ${l.client_id}`).join(', ')})` : ''}`);
  console.log(`benign alerts: ${benign.length} over ${events.toLocaleString('en')} requests = ${((benign.length / events) * 1_000_000).toFixed(2)} per million`);
  for (const alert of benign) console.log(`  ${alert.severity} ${alert.finding} ${alert.tenant}/${alert.client_id}: ${alert.summary}`);
} finally {
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
}
