/**
 * tsx test/bench/engine-insert.bench.ts — the engine's half of tokenwatch ingest alone: the
 * token_requests INSERT (insert-token-requests.sql, its views with it) of batches of bench
 * events, with its SETTINGS clause as it is and with extra settings, in one process and one
 * embedded engine, alternating per insert. Each figure is the CPU of the whole process (every
 * chDB thread, the background merges running meanwhile included) during one INSERT, per event;
 * medians and minima, since a merge may fall into any insert's window.
 *
 *   BENCH_INSERT_SETTINGS="max_threads = 1|log_comment = 'control'"  variants, '|'-separated,
 *     each appended to the statement's SETTINGS (a no-op such as log_comment is a control);
 *   BENCH_ROUNDS (default 10): inserts per variant; BENCH_BATCH (default 10,000): rows per insert.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { openEnricher } from '@tokenwatch/ingest/enrich/enricher';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { insertLines } from '@tokenwatch/shared/storage/sql';
import { openTestStorage } from '../helpers/storage.js';
import { benchEvent } from './bench-events.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);
const STATEMENT = readFileSync(fileURLToPath(new URL('../../shared/dist/storage/insert-token-requests.sql', import.meta.url)), 'utf8');
const LAST_SETTING = 'optimize_on_insert = 0';
if (!STATEMENT.includes(LAST_SETTING)) throw new Error(`insert-token-requests.sql no longer ends its SETTINGS with ${LAST_SETTING}: update this bench`);

const extras = (process.env.BENCH_INSERT_SETTINGS ?? "log_comment = 'control'").split('|').filter((setting) => setting.trim() !== '');
const variants: Array<[string, string]> = [
  ['as committed', STATEMENT],
  ...extras.map((setting): [string, string] => [`+ ${setting}`, STATEMENT.replace(LAST_SETTING, `${LAST_SETTING}, ${setting}`)]),
];

// The rows exactly as the worker writes them: bench events through the whole decode chain.
const enricher = await openEnricher();
const lines: string[] = [];
for (let i = 0; i < BATCH * ROUNDS * variants.length; i += 1) {
  const [result] = decodeMessage(Buffer.from(benchEvent(i)), { adapters: FORMATS, format: 'auto', enrich: enricher.enrich });
  if (result?.kind !== 'ok') throw new Error(`bench event ${i} did not decode`);
  lines.push(result.line);
}

const clickhouse = await openTestStorage('bench-engine-insert');
const perEvent = new Map<string, number[]>(variants.map(([name]) => [name, []]));
let inserted = 0;
for (let round = 0; round < ROUNDS; round += 1) {
  // Alternate the order too, so that no variant always follows the same one.
  for (const [name, statement] of round % 2 === 0 ? variants : [...variants].reverse()) {
    const batch = lines.slice(inserted * BATCH, (inserted + 1) * BATCH);
    inserted += 1;
    const before = process.cpuUsage();
    await insertLines(clickhouse.client, statement, batch, { dedup_token: `bench-engine-insert-${inserted}` });
    const used = process.cpuUsage(before);
    perEvent.get(name)?.push((used.user + used.system) / BATCH);
  }
}
await clickhouse.close();

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
console.log(`\n${ROUNDS} inserts of ${BATCH.toLocaleString('en')} bench events per variant, alternating; CPU µs/event of the process during each insert:\n`);
console.log('| insert SETTINGS | median | minimum | every insert |\n|---|---|---|---|');
for (const [name, values] of perEvent) {
  const ordered = sorted(values);
  console.log(`| ${name} | ${(ordered[Math.floor(ordered.length / 2)] as number).toFixed(1)} | ${(ordered[0] as number).toFixed(1)} | ${values.map((value) => value.toFixed(0)).join(' ')} |`);
}
