import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../helpers/wait.js';

/**
 * The benchmark topic: 1,000,000 canonical TokenRequest events (about 430 bytes each) over 4
 * partitions, produced once and reused by later runs (each run reads it with a new group).
 */
export const BENCH_TOPIC = process.env.BENCH_TOPIC ?? 'bench.token-requests.1m';
export const BENCH_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PARTITIONS = 4;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** The i-th benchmark event, as its JSON text (also what bench:decode decodes). */
export function benchEvent(i: number): string {
  const time = Date.UTC(2026, 10, 28, 1, 2, 3, 456) + i;
  const iat = Math.floor(time / 1000);
  return JSON.stringify({
    event_id: randomUUID(),
    time: new Date(time).toISOString(),
    idp: (['okta', 'auth0', 'entra', 'keycloak'] as const)[i & 3],
    tenant: 'acme',
    client_id: `svc-${i % 100}`,
    client_name: 'billing',
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: i % 4 === 3 ? 'failure' : 'success',
    source_ip: `203.0.113.${i % 256}`,
    user_agent: 'okhttp/4.12',
    scopes: ['read', 'write'],
    assertion: { jti: randomUUID(), iat, exp: iat + 300, kid: 'k1', alg: 'RS256' },
  });
}

/** Makes sure the topic holds the benchmark events; produces them the first time. */
export async function ensureBenchTopic(): Promise<void> {
  const kafka = new Kafka({ clientId: 'tokenwatch-bench', brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(BENCH_TOPIC)) {
      // Just after the broker starts, the topic's partitions have no leader for a few seconds
      // (NOT_LEADER_FOR_PARTITION): a bench started right after `npm run kafka:start` waits.
      const offsets = await waitFor(() => admin.fetchTopicOffsets(BENCH_TOPIC), () => true, {
        what: `leaders for the partitions of ${BENCH_TOPIC}`,
        intervalMs: 500,
      });
      const held = offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
      if (held === BENCH_EVENTS) return;
      await admin.deleteTopics({ topics: [BENCH_TOPIC] });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: BENCH_TOPIC, numPartitions: PARTITIONS, configEntries: [{ name: 'max.message.bytes', value: String(16 << 20) }] }],
    });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  for (let offset = 0; offset < BENCH_EVENTS; offset += 8_000) {
    const messages = [];
    for (let i = offset; i < Math.min(offset + 8_000, BENCH_EVENTS); i += 1) messages.push({ partition: i % PARTITIONS, value: benchEvent(i) });
    await producer.send({ topic: BENCH_TOPIC, acks: -1, compression: CompressionTypes.None, messages });
  }
  await producer.disconnect();
  console.error(`produced ${BENCH_EVENTS} events to ${BENCH_TOPIC} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
