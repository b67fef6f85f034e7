/**
 * npm run bench:size — bytes on disk per stored request, for docs/scaling.md's sizing table.
 *
 * Stores BENCH_EVENTS (default 1,000,000) simulated requests (300 clients over 4 IdPs and the
 * assertion tap, services/simulator, BENCH_SEED) the way production receives them: each event
 * rendered as its IdP writes it (renderNative: Okta, Auth0, Entra and Keycloak records; the
 * tap's canonical JSON), through the real decoder with format auto-detection, enrichment and
 * the write path, so the raw column holds the allowlisted vendor records and every rollup view
 * fills. Then reads system.parts (active parts) per table, twice: as inserted, and after
 * OPTIMIZE FINAL (every partition merged into one part, the steady state background merges
 * tend to), and system.columns for token_requests' biggest columns.
 *
 * Bytes per row do not depend on the machine's load; the store time printed does (a shared
 * machine makes it an upper bound).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { openEnricher } from '@tokenwatch/ingest/enrich/enricher';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { storeDecoded } from '@tokenwatch/ingest/store';
import { renderNative, simulate } from '@tokenwatch/simulator/index';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { queryRows } from '@tokenwatch/shared/storage/sql';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const CHUNK = 50_000;
const RETENTION_DAYS = 7_300;
const START = Date.UTC(2026, 9, 5);

const partsRow = z.object({
  table: z.string(),
  parts: z.coerce.number(),
  rows: z.coerce.number(),
  bytes_on_disk: z.coerce.number(),
  compressed: z.coerce.number(),
  uncompressed: z.coerce.number(),
});
const columnRow = z.object({ name: z.string(), compressed: z.coerce.number(), uncompressed: z.coerce.number() });

const PARTS = `
SELECT table, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk,
       sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
FROM system.parts
WHERE database = currentDatabase() AND active AND table IN {tables:Array(String)}
GROUP BY table
ORDER BY bytes_on_disk DESC`;

const COLUMNS = `
SELECT name, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed
FROM system.columns
WHERE database = currentDatabase() AND table = 'token_requests'
ORDER BY data_compressed_bytes DESC`;

/** The tables that grow with requests; alerts, notifications and the watch list grow with alerts. */
const TABLES = [
  'token_requests',
  'client_minute_counts',
  'client_locations',
  'clients',
  'client_traits',
  'client_credentials',
  'credential_days',
  'client_asn_slots',
  'jti_use_hours',
];

const fixed = (value: number, digits = 1) => value.toFixed(digits);

const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-size-'));
const clickhouse = await openClickHouse({ TOKENWATCH_DATA_DIR: dataDir, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATABASE: 'default' });
try {
  await migrate(clickhouse.client, { retention_days: RETENTION_DAYS });
  const enricher = await openEnricher();
  let inputBytes = 0;
  const decode = (event: TokenRequestInput) => {
    const message = Buffer.from(JSON.stringify(renderNative(event)));
    inputBytes += message.length;
    return decodeMessage(message, { adapters: FORMATS, format: 'auto', enrich: enricher.enrich });
  };
  const started = performance.now();
  let stored = 0;
  let batch = 0;
  let chunk: TokenRequestInput[] = [];
  const flush = async () => {
    batch += 1;
    const outcome = await storeDecoded(chunk, decode, { clickhouse: clickhouse.client, source: `size-${SEED}-${batch}`, retentionDays: RETENTION_DAYS });
    const [rejected] = outcome.rejected;
    if (rejected) throw new Error(`simulated event ${rejected.record.event_id} was not stored: ${rejected.reason}`);
    stored += outcome.stored;
    chunk = [];
  };
  // 300 clients make about 85,000 requests a day: 60 days is more than 1 million.
  for (const event of simulate({ seed: SEED, start: START, days: Math.max(21, Math.ceil(EVENTS / 50_000)), clients: 300, attacks: 'none' }).events) {
    chunk.push(event);
    if (stored + chunk.length >= EVENTS || chunk.length >= CHUNK) await flush();
    if (stored >= EVENTS) break;
  }
  if (chunk.length > 0) await flush();
  const storeSeconds = (performance.now() - started) / 1000;
  console.log(`stored ${stored.toLocaleString('en')} requests in ${fixed(storeSeconds, 0)} s (${fixed(stored / storeSeconds, 0)}/s on this machine, load-dependent)`);
  console.log(`input: ${fixed(inputBytes / stored)} bytes per request as the IdPs write it (JSON)`);

  const report = async (when: string) => {
    const rows = await queryRows(clickhouse.client, PARTS, { tables: TABLES }, partsRow);
    const requests = rows.find((row) => row.table === 'token_requests')?.rows ?? stored;
    console.log(`\n${when}: bytes per stored request (${requests.toLocaleString('en')} rows in token_requests)`);
    console.log('table                  parts        rows   on disk/request   compressed/request   uncompressed/request');
    let total = 0;
    for (const row of rows) {
      total += row.bytes_on_disk;
      console.log(
        `${row.table.padEnd(22)} ${String(row.parts).padStart(5)} ${String(row.rows).padStart(11)} ${fixed(row.bytes_on_disk / requests).padStart(17)} ${fixed(row.compressed / requests).padStart(20)} ${fixed(row.uncompressed / requests).padStart(22)}`,
      );
    }
    console.log(`${'total'.padEnd(22)} ${''.padStart(17)} ${fixed(total / requests).padStart(17)}`);
  };

  await report('as inserted');
  for (const table of TABLES) await clickhouse.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  await report('merged (OPTIMIZE FINAL)');

  const columns = await queryRows(clickhouse.client, COLUMNS, {}, columnRow);
  const total = columns.reduce((sum, column) => sum + column.compressed, 0);
  console.log(`\ntoken_requests columns, merged: compressed bytes per request (share of the table's compressed data)`);
  for (const column of columns.slice(0, 12)) {
    console.log(`${column.name.padEnd(22)} ${fixed(column.compressed / stored).padStart(8)}  ${fixed((100 * column.compressed) / total).padStart(5)}%  (uncompressed ${fixed(column.uncompressed / stored)})`);
  }
} finally {
  await clickhouse.close();
  rmSync(dataDir, { recursive: true, force: true });
}
