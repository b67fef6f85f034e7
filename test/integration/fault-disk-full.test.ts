import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { isDefined, waitFor } from '../helpers/wait.js';
import { canonicalEvent } from '../helpers/events.js';
import { createTopic, produce, readTopic, waitForConsumed } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Promise (docs/reliability.md): a full disk pauses ingest; nothing is dead-lettered for it,
// nothing is lost, and once space is freed every event is stored exactly once without a
// restart. The data directory lives on a tmpfs of its own (CI runs as root, which mount needs).
const SMALL = '24m';
const EVENTS = 40_000; // about 800 random bytes each: far more than 24 MiB once stored

describe('fault: the data directory fills up, then space is freed', () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'tokenwatch-disk-full-'));
  let storage: Storage;
  let ingest: IngestService;
  let workerEnded = false;
  let dlqTopic = '';
  let group = '';
  let topic = '';

  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SMALL},mode=0700`, 'tmpfs', mountPoint]);
    const env = testEnv('fault-disk', { TOKENWATCH_DATA_DIR: join(mountPoint, 'data'), TOKENWATCH_BATCH_MAX_EVENTS: '2000' });
    const settings = settingsFrom(env);
    dlqTopic = settings.TOKENWATCH_DLQ_TOPIC;
    group = settings.TOKENWATCH_CONSUMER_GROUP;
    topic = settings.TOKENWATCH_TOPIC;
    await createTopic(settings.TOKENWATCH_TOPIC, 2);
    storage = await openStorage(settings, createLogger('silent'));
    ingest = await startIngest({ settings, logger: createLogger('silent'), clickhouse: storage.client, registry: createRegistry() });
    ingest.done.then(
      () => (workerEnded = true),
      () => (workerEnded = true),
    );
    const values = Array.from({ length: EVENTS }, (_, i) => JSON.stringify(canonicalEvent(i, { user_agent: randomBytes(400).toString('hex') })));
    await produce(settings.TOKENWATCH_TOPIC, values, { chunk: 500 });
  }, 300_000);

  afterAll(async () => {
    await ingest?.stop().catch(() => undefined);
    await storage?.close();
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  async function stored(): Promise<number> {
    const result = await storage.client.query({ query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }

  it('pauses while the disk is full instead of stopping or dead-lettering', async () => {
    // Readiness drops when an insert is refused for lack of space and ingest starts retrying.
    await waitFor(async () => (ingest.consuming() ? undefined : true), isDefined, { what: 'ingest to pause on the full disk', timeoutMs: 240_000 });
    expect(workerEnded, 'the worker stopped on a full disk').toBe(false);
    expect(await stored()).toBeLessThan(EVENTS);
  }, 300_000);

  it('stores every event exactly once after space is freed, and dead-letters none', async () => {
    execFileSync('mount', ['-o', 'remount,size=1g', mountPoint]);
    await waitFor(async () => ((await stored()) >= EVENTS ? true : undefined), isDefined, { what: `${EVENTS} stored events`, timeoutMs: 240_000 });
    // Exactly once as every reader sees it: a batch re-read after an uncommitted offset may be
    // inserted again under other batch boundaries (another dedup token); ReplacingMergeTree
    // folds it by event_id, and every query reads FINAL or counts uniqExact(event_id).
    const result = await storage.client.query({
      query: 'SELECT (SELECT count() FROM token_requests FINAL) AS rows, uniqExact(event_id) AS ids FROM token_requests',
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ rows: string; ids: string }>();
    expect(Number(row?.ids)).toBe(EVENTS);
    expect(Number(row?.rows)).toBe(EVENTS);
    await waitFor(async () => (ingest.consuming() ? true : undefined), isDefined, { what: 'ingest ready again' });
    expect(workerEnded).toBe(false);
    // Nothing may have been dead-lettered because the disk was full (read once all is committed).
    await waitForConsumed(group, topic);
    expect(await readTopic(dlqTopic, 0)).toEqual([]);
  }, 300_000);
});
