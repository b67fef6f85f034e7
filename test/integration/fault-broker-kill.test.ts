import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { isDefined, waitFor } from '../helpers/wait.js';
import { canonicalEvent } from '../helpers/events.js';
import { startPrivateBroker, type PrivateBroker } from '../helpers/private-broker.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Promise (docs/reliability.md): the broker dying with kill -9 mid-stream and coming back
// loses nothing and stores nothing twice, and the ingest worker resumes by itself.
const BEFORE = 6_000;
const AFTER = 4_000;

describe('fault: the Kafka broker is killed with SIGKILL mid-stream and restarted', () => {
  let broker: PrivateBroker;
  let storage: Storage;
  let ingest: IngestService;
  let workerEnded = false;

  beforeAll(async () => {
    broker = await startPrivateBroker('kill');
    const env = testEnv('fault-broker', { KAFKA_BROKERS: broker.brokers, TOKENWATCH_TOPIC_PARTITIONS: '2', KAFKA_SESSION_TIMEOUT_MS: '10000' });
    const settings = settingsFrom(env);
    storage = await openStorage(settings, createLogger('silent'));
    ingest = await startIngest({ settings, logger: createLogger('silent'), clickhouse: storage.client, registry: createRegistry() });
    ingest.done.then(
      () => (workerEnded = true),
      () => (workerEnded = true),
    );
    const kafka = new Kafka({ clientId: 'fault-test', brokers: [broker.brokers], logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2_000 } });
    const send = async (from: number, count: number) => {
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      for (let start = from; start < from + count; start += 1_000) {
        const messages = Array.from({ length: Math.min(1_000, from + count - start) }, (_, i) => ({ value: JSON.stringify(canonicalEvent(start + i)) }));
        await producer.send({ topic: settings.TOKENWATCH_TOPIC, acks: -1, messages });
      }
      await producer.disconnect();
    };

    await send(0, BEFORE);
    // Kill it while the worker is part-way through what was produced.
    await waitFor(async () => ((await stored()) > 0 ? true : undefined), isDefined, { what: 'the first stored batch', timeoutMs: 120_000 });
    await broker.kill9();
    await broker.start();
    await send(BEFORE, AFTER);
    // A JVM start on a busy two-core machine takes tens of seconds, twice here.
  }, 300_000);

  afterAll(async () => {
    await ingest?.stop().catch(() => undefined);
    await storage?.close();
    await broker?.stop();
  });

  async function stored(): Promise<number> {
    const result = await storage.client.query({ query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }

  it('stores every event exactly once after the broker comes back, without a restart of the worker', async () => {
    await waitFor(async () => ((await stored()) >= BEFORE + AFTER ? true : undefined), isDefined, { what: `${BEFORE + AFTER} stored events`, timeoutMs: 180_000 });
    // Exactly once as every reader sees it: a batch re-read after an uncommitted offset may be
    // inserted again under other batch boundaries (another dedup token); ReplacingMergeTree
    // folds it by event_id, and every query reads FINAL or counts uniqExact(event_id).
    const result = await storage.client.query({
      query: 'SELECT (SELECT count() FROM token_requests FINAL) AS rows, uniqExact(event_id) AS ids FROM token_requests',
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ rows: string; ids: string }>();
    expect(Number(row?.ids)).toBe(BEFORE + AFTER);
    expect(Number(row?.rows)).toBe(BEFORE + AFTER);
    expect(workerEnded, 'the ingest worker stopped instead of waiting for the broker').toBe(false);
    expect(ingest.consuming()).toBe(true);
  }, 240_000);
});
