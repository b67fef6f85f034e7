/**
 * The Kafka-engine pipelines of `npm run bench:ingest`: ClickHouse's own Kafka table engine
 * (built into chDB) reading the benchmark topic through the same token_requests_input view
 * into a variant of tokenwatch's schema. Run as a child process (chDB binds one data
 * directory per process): prints one JSON line {events, seconds, cpuSeconds, peakRssMb}.
 *   tsx test/bench/kafka-engine-baseline.ts <dataDir> <topic> <group> <expected> [variant]
 *
 * Variants (the schema is migrated as usual, then changed before consumption starts):
 * - `full`: tokenwatch's schema as `tokenwatch migrate` leaves it (the default): since migration
 *   0017 no rollup view is left, so this feeds exactly the tables tokenwatch's ingest feeds, and
 *   the rollups are the detector tick's work (bench:ingest times that apart, rollup-refresh.ts);
 * - `lean`: token_requests as a plain MergeTree without the raw column and without any rollup
 *   view: the same parsing and sort, none of the detection schema's extra work (the ceiling);
 * - `no:<view>`: the full schema without one materialized view (none is left since 0017 but
 *   token_requests_input_mv, which is not a rollup: kept for a schema with views of its own);
 * - `mergetree`: the full schema with token_requests a plain MergeTree, not ReplacingMergeTree;
 * - `no-raw`: the full schema without token_requests' raw column.
 */
import { readFileSync } from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { waitFor } from '../helpers/wait.js';

const [dataDir, topic, group, expectedText, variant = 'full'] = process.argv.slice(2) as [string, string, string, string, string?];
const expected = Number(expectedText);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

// The engine's ceiling, not a configuration to ship: four Kafka consumers building 64k-row
// blocks need more than tokenwatch's default engine limit (320 MiB refused a merge of the
// rollups), so the baseline gets 2 GiB. tokenwatch runs with its defaults.
const clickhouse = await openClickHouse({
  TOKENWATCH_DATA_DIR: dataDir,
  TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: 2048,
  CLICKHOUSE_USER: 'default',
  CLICKHOUSE_PASSWORD: '',
  CLICKHOUSE_DATABASE: 'default',
});
const { client } = clickhouse;
await migrate(client, { retention_days: 90 });
await applyVariant(client, variant);

// Settings from a sweep on this machine (4 consumers, one thread each, 64k blocks was best).
await client.command({
  query: `CREATE TABLE token_requests_kafka AS token_requests_input
          ENGINE = Kafka SETTINGS
            kafka_broker_list = {brokers:String}, kafka_topic_list = {topic:String}, kafka_group_name = {group:String},
            kafka_format = 'JSONEachRow', kafka_num_consumers = 4, kafka_thread_per_consumer = 1,
            kafka_max_block_size = 65536, kafka_poll_max_batch_size = 65536, kafka_flush_interval_ms = 1000,
            input_format_skip_unknown_fields = 1, input_format_json_read_numbers_as_strings = 1,
            input_format_json_read_arrays_as_strings = 1`,
  query_params: { brokers, topic, group },
});
const started = performance.now();
const cpuAtStart = process.cpuUsage();
// Consumption starts when a materialized view is attached; the clock starts here.
await client.command({ query: 'CREATE MATERIALIZED VIEW token_requests_kafka_mv TO token_requests_input AS SELECT * FROM token_requests_kafka' });
const countRow = z.object({ n: z.coerce.number() });
// Past the timeout this process fails (its stderr says how many were stored); the bench then stops.
const stored = await waitFor(
  async () => (await queryRows(client, 'SELECT count() AS n FROM token_requests', {}, countRow))[0]?.n ?? 0,
  (count) => count >= expected,
  { timeoutMs: 600_000, intervalMs: 200, what: `the Kafka engine (${variant}) to store ${expected} events` },
);
const seconds = (performance.now() - started) / 1000;
// Every thread of the process (chDB's included): what the work costs, whatever else the machine runs.
const cpu = process.cpuUsage(cpuAtStart);
await client.command({ query: 'DROP TABLE token_requests_kafka_mv SYNC' });
await client.command({ query: 'DROP TABLE token_requests_kafka SYNC' });
await clickhouse.close();
const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
console.log(JSON.stringify({ events: stored, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: Math.round(peakRssKb / 1024) }));

/** Changes the migrated schema into the variant: views dropped, token_requests re-created. */
async function applyVariant(client: ClickHouseClient, name: string): Promise<void> {
  if (name === 'full') return;
  const views = await queryRows(
    client,
    `SELECT name, create_table_query AS ddl FROM system.tables
     WHERE database = currentDatabase() AND engine = 'MaterializedView'`,
    {},
    z.object({ name: z.string(), ddl: z.string() }),
  );
  const rollupViews = views.map((view) => view.name).filter((view) => view !== 'token_requests_input_mv');
  if (name.startsWith('no:')) {
    const view = name.slice(3);
    if (!rollupViews.includes(view)) throw new Error(`unknown rollup view ${view}; known: ${rollupViews.join(', ')}`);
    await client.command({ query: `DROP TABLE ${view} SYNC` });
    return;
  }
  if (!['lean', 'mergetree', 'no-raw'].includes(name)) throw new Error(`unknown variant ${name}`);
  const [table] = await queryRows(client, 'SHOW CREATE TABLE token_requests', {}, z.object({ statement: z.string() }));
  let ddl = (table as { statement: string }).statement;
  if (name === 'lean' || name === 'mergetree') ddl = replaceOnce(ddl, 'ENGINE = ReplacingMergeTree', 'ENGINE = MergeTree');
  if (name === 'lean' || name === 'no-raw') ddl = replaceOnce(ddl, /^\s*`raw` String[^\n]*\n/m, '');
  for (const view of views) await client.command({ query: `DROP TABLE ${view.name} SYNC` });
  await client.command({ query: 'DROP TABLE token_requests SYNC' });
  await client.command({ query: ddl });
  for (const view of views) {
    if (name === 'lean' && view.name !== 'token_requests_input_mv') continue;
    // The input view also selects `raw`; without the column in the target, the view's own list must lose it.
    const viewDdl = name !== 'full' && view.name === 'token_requests_input_mv' && !ddl.includes('`raw`') ? withoutRaw(view.ddl) : view.ddl;
    await client.command({ query: viewDdl });
  }
}

/** The input view without its `raw` column (in its column list and its SELECT). */
function withoutRaw(ddl: string): string {
  return replaceOnce(replaceOnce(ddl, ', `raw` String', ''), /,\s*raw\s+FROM/, ' FROM');
}

function replaceOnce(text: string, pattern: string | RegExp, replacement: string): string {
  const changed = text.replace(pattern, replacement);
  if (changed === text) throw new Error(`variant: ${String(pattern)} not found in ${text.slice(0, 200)}`);
  return changed;
}
