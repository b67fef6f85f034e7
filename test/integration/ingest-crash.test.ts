import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { canonicalEvent } from '../helpers/events.js';
import { createTopic, produce, testKafka } from '../helpers/kafka.js';
import { spawnCli, terminate, waitFor } from '../helpers/cli.js';
import { testEnv } from '../helpers/settings.js';
import type { ChildProcess } from 'node:child_process';

const TOTAL = 100_000;

/** Stored-row count through the running worker's query server (it holds the data directory). */
async function storedCount(dataDir: string): Promise<{ rows: number; unique: number } | undefined> {
  const server = readDiscovery(resolve(dataDir));
  if (!server) return undefined;
  const text = await streamText(
    await queryThroughServer(server, {
      query: 'SELECT count() AS rows, uniqExact(event_id) AS unique FROM token_requests FINAL',
      format: 'JSONEachRow',
    }),
  );
  const row = JSON.parse(text) as { rows: string; unique: string };
  return { rows: Number(row.rows), unique: Number(row.unique) };
}

describe('ingest worker survives kill -9', () => {
  // A short session timeout so the broker gives the killed worker's partitions away quickly.
  const env = testEnv('crash', { TOKENWATCH_BATCH_MAX_EVENTS: '5000', KAFKA_SESSION_TIMEOUT_MS: '8000' });
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('stores every event exactly once across a crash and a restart, then stops cleanly', async () => {
    await createTopic(env.TOKENWATCH_TOPIC as string, 4);
    const first = spawnCli(['ingest'], env);
    children.push(first);
    await waitFor(() => storedCount(env.TOKENWATCH_DATA_DIR as string), { what: 'the first worker to serve queries' });

    // A stream, not a burst, so the kill lands in the middle of it.
    const events = Array.from({ length: TOTAL }, (_, i) => JSON.stringify(canonicalEvent(i)));
    const producing = produce(env.TOKENWATCH_TOPIC as string, events, { chunk: 2_000, pauseMs: 40 });

    const before = await waitFor(
      async () => {
        const count = await storedCount(env.TOKENWATCH_DATA_DIR as string);
        return count && count.rows >= 15_000 ? count : undefined;
      },
      { what: 'the first worker to store part of the stream', intervalMs: 50 },
    );
    first.kill('SIGKILL');
    await new Promise((done) => first.once('exit', done));
    expect(before.rows).toBeLessThan(TOTAL);
    await producing;

    const second = spawnCli(['ingest'], env);
    children.push(second);
    const after = await waitFor(
      async () => {
        const count = await storedCount(env.TOKENWATCH_DATA_DIR as string);
        return count && count.rows >= TOTAL ? count : undefined;
      },
      { what: `${TOTAL} events after the restart`, timeoutMs: 90_000 },
    );
    await new Promise((done) => setTimeout(done, 2_000));
    const settled = await storedCount(env.TOKENWATCH_DATA_DIR as string);
    expect(after.unique).toBe(TOTAL);
    expect(settled).toEqual({ rows: TOTAL, unique: TOTAL });

    // SIGTERM: the worker commits what it stored and exits 0, leaving no lag behind.
    expect(await terminate(second)).toBe(0);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: env.TOKENWATCH_CONSUMER_GROUP as string, topics: [env.TOKENWATCH_TOPIC as string] });
      const ends = await admin.fetchTopicOffsets(env.TOKENWATCH_TOPIC as string);
      const lag = ends.reduce((sum, end) => {
        const done = committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '0';
        return sum + (Number(end.offset) - Number(done));
      }, 0);
      expect(lag).toBe(0);
    } finally {
      await admin.disconnect();
    }
  });
});
