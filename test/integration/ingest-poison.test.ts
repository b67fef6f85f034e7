import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { DLQ_HEADERS } from '@tokenwatch/ingest/dead-letter';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { canonicalEvent } from '../helpers/events.js';
import { createTopic, produce, readTopic, testKafka } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { isDefined, waitFor } from '../helpers/wait.js';

// A stream of valid events mixed with every kind of input that used to halt the worker, through
// the real broker and engine. The worker must store every valid event, dead-letter every bad
// one with a reason, and never stop.

const WEEK = 7 * 86_400_000;
const MONDAY = Date.UTC(2026, 10, 23);

const VALID = 2_000;
/** Valid events one week apart: 150 partitions, more than one INSERT block may touch. */
const SPREAD = 150;
/** Valid to the schema today, refused by ClickHouse: a lone UTF-16 surrogate in a string. */
const SURROGATE = 10;
/** Invalid messages of about 5 KB: their dead letters are 1.5 MB together. */
const BULKY_INVALID = 300;
/** One message of 900 KB, too large for a dead-letter topic that takes 300 KB. */
const OVERSIZED_BYTES = 900_000;
const DLQ_MAX_MESSAGE_BYTES = 300_000;

const valid = Array.from({ length: VALID }, (_, i) => JSON.stringify(canonicalEvent(i)));
const spread = Array.from({ length: SPREAD }, (_, i) => JSON.stringify(canonicalEvent(50_000 + i, { time: MONDAY - i * WEEK })));
const surrogates = Array.from({ length: SURROGATE }, (_, i) =>
  // JSON.stringify writes the lone surrogate as the escape \ud800, as a producer's JSON library would.
  JSON.stringify({ ...canonicalEvent(60_000 + i), [i % 2 === 0 ? 'client_name' : 'user_agent']: `svc-${i}\ud800` }),
);
const bulky = Array.from({ length: BULKY_INVALID }, (_, i) =>
  JSON.stringify({ ...canonicalEvent(70_000 + i), source_ip: '999.1.1.1', note: 'x'.repeat(5_000) }),
);
const oversized = JSON.stringify({ event_id: 'oversized', client_secret: 'hunter2-oversized', padding: 'y'.repeat(OVERSIZED_BYTES) });
const TOTAL = VALID + SPREAD + SURROGATE + BULKY_INVALID + 1;

describe('ingest worker: a poison stream', () => {
  const env = testEnv('poison', { TOKENWATCH_RETENTION_DAYS: '7300', TOKENWATCH_BATCH_MAX_EVENTS: '5000' });
  const settings = settingsFrom(env);
  const registry = createRegistry();
  let storage: Storage;
  let ingest: IngestService;
  let stoppedWith: unknown;

  const count = async (query: string) => {
    const result = await storage.client.query({ query, format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]?.n);
  };
  const metric = async (name: string) => (await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values[0]?.value ?? 0;

  beforeAll(async () => {
    await createTopic(settings.TOKENWATCH_TOPIC, 1);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: settings.TOKENWATCH_DLQ_TOPIC, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(DLQ_MAX_MESSAGE_BYTES) }] }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    // Interleaved, and all on the topic before the worker starts, so that batches are full and
    // each holds every kind. Small requests: the input topic takes 1 MB per request.
    const stream: string[] = [];
    valid.forEach((value, i) => {
      stream.push(value);
      if (i < SPREAD) stream.push(spread[i] as string);
      if (i % 200 === 7) stream.push(surrogates[(i - 7) / 200] as string);
      if (i % 6 === 3 && bulky[(i - 3) / 6] !== undefined) stream.push(bulky[(i - 3) / 6] as string);
    });
    stream.splice(1_000, 0, oversized);
    expect(stream).toHaveLength(TOTAL);
    await produce(settings.TOKENWATCH_TOPIC, stream, { chunk: 100 });

    storage = await openStorage(settings, createLogger('warn'));
    ingest = await startIngest({ settings, logger: createLogger('warn'), clickhouse: storage.client, registry });
    ingest.done.catch((error: unknown) => (stoppedWith = error));
  });

  afterAll(async () => {
    await ingest?.stop();
    await storage?.close();
  });

  it('stores every valid event, dead-letters every bad one with a reason, and keeps consuming', async () => {
    await waitFor(async () => ((await metric('tokenwatch_ingest_events_consumed_total')) >= TOTAL ? true : undefined), isDefined, {
      what: `all ${TOTAL} messages processed`,
      timeoutMs: 110_000,
    });
    expect(stoppedWith).toBeUndefined();
    expect(ingest.consuming()).toBe(true);

    // Valid events: all stored, the spread ones over 150 weekly partitions.
    expect(await count("SELECT count() AS n FROM token_requests FINAL WHERE length(event_id) <= 8 OR event_id LIKE 'evt-5____'")).toBe(VALID + SPREAD);
    expect(await count("SELECT uniqExact(toMonday(time)) AS n FROM token_requests WHERE event_id LIKE 'evt-5____'")).toBe(SPREAD);

    // A lone surrogate: ClickHouse refuses it today; a schema that repairs or rejects it is
    // fine too. Either way each such event ends in exactly one place.
    const storedSurrogates = await count("SELECT count() AS n FROM token_requests FINAL WHERE event_id LIKE 'evt-600__'");
    const expectedLetters = BULKY_INVALID + 1 + (SURROGATE - storedSurrogates);
    const letters = await readTopic(settings.TOKENWATCH_DLQ_TOPIC, expectedLetters, { timeoutMs: 60_000 });
    expect(letters).toHaveLength(expectedLetters);
    for (const letter of letters) {
      expect(letter.headers[DLQ_HEADERS.reason], letter.value.slice(0, 80)).toBeTruthy();
      expect(letter.headers[DLQ_HEADERS.topic]).toBe(settings.TOKENWATCH_TOPIC);
    }

    const bulkyLetters = letters.filter((letter) => letter.value.includes('"note"'));
    expect(bulkyLetters).toHaveLength(BULKY_INVALID);
    for (const letter of bulkyLetters) expect(letter.headers[DLQ_HEADERS.reason]).toContain('source_ip');

    const surrogateLetters = letters.filter((letter) => /evt-600\d\d/.test(letter.value));
    expect(surrogateLetters).toHaveLength(SURROGATE - storedSurrogates);
    for (const letter of surrogateLetters) expect(letter.headers[DLQ_HEADERS.reason]).toMatch(/surrogate/i);
    expect(await metric('tokenwatch_ingest_events_refused_total')).toBe(
      surrogateLetters.filter((letter) => letter.headers[DLQ_HEADERS.reason]?.startsWith('refused by ClickHouse')).length,
    );

    // The oversized message: a bounded summary that finds it again and leaks no secret.
    const [summary] = letters.filter((letter) => letter.headers[DLQ_HEADERS.oversized] !== undefined);
    expect(summary).toBeDefined();
    expect(Number(summary?.headers[DLQ_HEADERS.oversized])).toBe(Buffer.byteLength(oversized));
    const body = JSON.parse(summary?.value ?? '{}') as { reason: string; bytes: number; sha256: string; prefix: string; source: { offset: string } };
    expect(body.bytes).toBe(Buffer.byteLength(oversized));
    expect(body.sha256).toBe(createHash('sha256').update(oversized).digest('hex'));
    expect(body.reason).toBeTruthy();
    expect(body.source.offset).toMatch(/^\d+$/);
    expect(Buffer.byteLength(body.prefix)).toBeLessThanOrEqual(1_024);
    expect(body.prefix.startsWith('{"event_id":"oversized"')).toBe(true);
    expect(summary?.value).not.toContain('hunter2');

    // Nothing left behind: the consumer group committed the whole topic.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId: settings.TOKENWATCH_CONSUMER_GROUP, topics: [settings.TOKENWATCH_TOPIC] });
          return Number(committed?.partitions[0]?.offset) === TOTAL ? true : undefined;
        }, isDefined,
        { what: 'the whole topic committed' });
    } finally {
      await admin.disconnect();
    }
  });

  it('pauses while ClickHouse cannot take inserts, reports not ready, and resumes by itself', async () => {
    const more = Array.from({ length: 300 }, (_, i) => JSON.stringify(canonicalEvent(80_000 + i)));
    await storage.client.command({ query: 'DETACH TABLE token_requests' });
    let attached = false;
    try {
      await produce(settings.TOKENWATCH_TOPIC, more);
      const why = await waitFor(async () => ingest.notConsumingBecause(), isDefined, { what: 'ingest to pause', timeoutMs: 60_000 });
      expect(why).toMatch(/^paused, retrying: /);
      expect(ingest.consuming()).toBe(false);
      await storage.client.command({ query: 'ATTACH TABLE token_requests' });
      attached = true;
    } finally {
      if (!attached) await storage.client.command({ query: 'ATTACH TABLE token_requests' });
    }
    await waitFor(async () => ((await count("SELECT count() AS n FROM token_requests FINAL WHERE event_id LIKE 'evt-80___'")) === 300 ? true : undefined), isDefined, {
      what: 'the events sent during the outage',
      timeoutMs: 90_000,
    });
    await waitFor(async () => (ingest.consuming() ? true : undefined), isDefined, { what: 'ingest to resume' });
    expect(stoppedWith).toBeUndefined();
  });
});
