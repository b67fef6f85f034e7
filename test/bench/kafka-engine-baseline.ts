/**
 * The baseline for `npm run bench:ingest`: ClickHouse's own Kafka table engine (built into
 * chDB) reading the benchmark topic into the same token_requests table, through the same
 * token_requests_input materialized view. Run as a child process (chDB binds one data
 * directory per process): prints one JSON line {events, seconds, peakRssMb}.
 *   tsx test/bench/kafka-engine-baseline.ts <dataDir> <topic> <group> <expected>
 */
import { readFileSync } from 'node:fs';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';

const [dataDir, topic, group, expectedText] = process.argv.slice(2) as [string, string, string, string];
const expected = Number(expectedText);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

const clickhouse = await openClickHouse({
  TOKENWATCH_DATA_DIR: dataDir,
  CLICKHOUSE_USER: 'default',
  CLICKHOUSE_PASSWORD: '',
  CLICKHOUSE_DATABASE: 'default',
});
const { client } = clickhouse;
await migrate(client, { retention_days: 90 });

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
// Consumption starts when a materialized view is attached; the clock starts here.
await client.command({ query: 'CREATE MATERIALIZED VIEW token_requests_kafka_mv TO token_requests_input AS SELECT * FROM token_requests_kafka' });
let stored = 0;
while (stored < expected && performance.now() - started < 600_000) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const result = await client.query({ query: 'SELECT count() AS n FROM token_requests', format: 'JSONEachRow' });
  stored = Number((await result.json<{ n: string }>())[0]?.n);
}
const seconds = (performance.now() - started) / 1000;
await client.command({ query: 'DROP TABLE token_requests_kafka_mv SYNC' });
await client.command({ query: 'DROP TABLE token_requests_kafka SYNC' });
await clickhouse.close();
const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
console.log(JSON.stringify({ events: stored, seconds, peakRssMb: Math.round(peakRssKb / 1024) }));
