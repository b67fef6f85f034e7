import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { canonicalEvent } from '../helpers/events.js';
import { consumerLag, createTopic, produce } from '../helpers/kafka.js';
import { runCli, spawnCli, terminate } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { testEnv } from '../helpers/settings.js';
import type { ChildProcess } from 'node:child_process';

const TOTAL = 100_000;
const COUNT = 'SELECT count() AS rows, uniqExact(event_id) AS unique FROM token_requests FINAL';

function parseCount(text: string): { rows: number; unique: number } {
  const row = JSON.parse(text) as { rows: string; unique: string };
  return { rows: Number(row.rows), unique: Number(row.unique) };
}

/** Stored-row count through the running worker's query server (it holds the data directory). */
async function storedCount(dataDir: string): Promise<{ rows: number; unique: number }> {
  const server = readDiscovery(resolve(dataDir));
  if (!server) throw new Error('no worker serves queries yet');
  return parseCount(await streamText(await queryThroughServer(server, { query: COUNT, format: 'JSONEachRow' })));
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
    await waitFor(() => storedCount(env.TOKENWATCH_DATA_DIR as string), () => true, { what: 'the first worker to serve queries' });

    // A stream, not a burst, so the kill lands in the middle of it.
    const events = Array.from({ length: TOTAL }, (_, i) => JSON.stringify(canonicalEvent(i)));
    const producing = produce(env.TOKENWATCH_TOPIC as string, events, { chunk: 2_000, pauseMs: 40 });

    const before = await waitFor(() => storedCount(env.TOKENWATCH_DATA_DIR as string), (count) => count.rows >= 15_000, {
      what: 'the first worker to store part of the stream',
      intervalMs: 50,
    });
    first.kill('SIGKILL');
    await new Promise((done) => first.once('exit', done));
    expect(before.rows).toBeLessThan(TOTAL);
    await producing;

    const second = spawnCli(['ingest'], env);
    children.push(second);
    // FINAL collapses re-sent rows, so TOTAL means every event is stored; redelivered batches
    // may still be on their way in.
    // The lag in the observation tells a slow worker (messages not committed) from a lost
    // batch (all committed, rows missing).
    await waitFor(
      async () => ({ ...(await storedCount(env.TOKENWATCH_DATA_DIR as string)), notCommitted: await consumerLag(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string) }),
      (count) => count.rows >= TOTAL,
      { what: `${TOTAL} events after the restart`, timeoutMs: 90_000 },
    );

    // SIGTERM: the worker commits what it stored and exits 0, leaving no lag behind.
    expect(await terminate(second)).toBe(0);
    expect(await consumerLag(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string)).toBe(0);
    // Nothing writes any more: the directory, read by another process, holds each event once.
    const settled = await runCli(['sql', COUNT], env);
    expect(settled.code, settled.stderr).toBe(0);
    expect(parseCount(settled.stdout.trim())).toEqual({ rows: TOTAL, unique: TOTAL });
  }, 240_000);
});
