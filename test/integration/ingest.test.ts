import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { DLQ_HEADERS } from '@tokenwatch/ingest/dead-letter';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { canonicalEvent, malformedMessage } from '../helpers/events.js';
import { createTopic, produce, readTopic, waitForConsumed } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// 20,000 valid events, 5% of them sent a second time, and 1% malformed messages, through the
// real broker and the real engine.
const VALID = 20_000;
const RESENT = VALID * 0.05;
const MALFORMED = VALID * 0.01;

describe('ingest worker: Kafka -> ClickHouse', () => {
  const env = testEnv('ingest');
  const settings = settingsFrom(env);
  let storage: Storage;
  let ingest: IngestService;
  const registry = createRegistry();

  beforeAll(async () => {
    await createTopic(settings.TOKENWATCH_TOPIC, 4);
    storage = await openStorage(settings, createLogger('warn'));
    ingest = await startIngest({ settings, logger: createLogger('warn'), clickhouse: storage.client, registry });

    const valid = Array.from({ length: VALID }, (_, i) => JSON.stringify(canonicalEvent(i)));
    // Re-sends arrive later in the stream, as a retrying producer would send them.
    const resent = Array.from({ length: RESENT }, (_, i) => valid[i * 20] as string);
    const malformed = Array.from({ length: MALFORMED }, (_, i) => malformedMessage(i).value);
    const stream: string[] = [];
    valid.forEach((value, i) => {
      stream.push(value);
      if (i % 100 === 50) stream.push(malformed[i / 100 - 0.5] as string);
    });
    stream.push(...resent);
    expect(stream.length).toBe(VALID + RESENT + MALFORMED);
    await produce(settings.TOKENWATCH_TOPIC, stream);
    // Every test below reads the outcome of the whole stream: the worker commits a batch only
    // after storing and dead-lettering it, so a fully committed topic means all of it is done.
    await waitForConsumed(settings.TOKENWATCH_CONSUMER_GROUP, settings.TOKENWATCH_TOPIC);
  }, 120_000);

  afterAll(async () => {
    await ingest?.stop();
    await storage?.close();
  });

  it('stores exactly the unique valid events', async () => {
    const count = async () => {
      const result = await storage.client.query({ query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' });
      const [row] = await result.json<{ n: string }>();
      return Number(row?.n);
    };
    expect(await count()).toBe(VALID);

    const result = await storage.client.query({
      query: `SELECT uniqExact(event_id) AS ids, countIf(assertion_jti != '') AS with_jti,
                     countIf(toString(source_ip) LIKE '::ffff:%') AS v4, min(time) AS first,
                     countIf(geo_source = 'idp') AS idp_geo, countIf(ip_scope = 'reserved') AS documentation_ips
              FROM token_requests FINAL`,
      format: 'JSONEachRow',
    });
    const [stats] = await result.json<{ ids: string; with_jti: string; v4: string; first: string; idp_geo: string; documentation_ips: string }>();
    expect(Number(stats?.ids)).toBe(VALID);
    expect(Number(stats?.with_jti)).toBe(Array.from({ length: VALID }, (_, i) => i % 3 !== 0).filter(Boolean).length);
    expect(Number(stats?.v4)).toBe(VALID * 0.75);
    expect(stats?.first).toBe('2026-11-27 12:00:00.000');
    // Enriched on the way in: the events carry IdP geo, and their addresses are documentation ranges.
    expect(Number(stats?.idp_geo)).toBe(VALID);
    expect(Number(stats?.documentation_ips)).toBe(VALID);
  });

  it('dead-letters exactly the malformed messages, each with its reason and origin', async () => {
    const letters = await readTopic(settings.TOKENWATCH_DLQ_TOPIC, MALFORMED);
    expect(letters).toHaveLength(MALFORMED);
    const expectedBodies = new Map(Array.from({ length: MALFORMED }, (_, i) => [malformedMessage(i).value, malformedMessage(i).reasonIncludes]));
    for (const letter of letters) {
      const reasonIncludes = expectedBodies.get(letter.value);
      expect(reasonIncludes, `unexpected dead letter ${letter.value}`).toBeDefined();
      expect(letter.headers[DLQ_HEADERS.reason]).toContain(reasonIncludes);
      expect(letter.headers[DLQ_HEADERS.topic]).toBe(settings.TOKENWATCH_TOPIC);
      expect(Number(letter.headers[DLQ_HEADERS.partition])).toBeGreaterThanOrEqual(0);
      expect(letter.headers[DLQ_HEADERS.offset]).toMatch(/^\d+$/);
    }
    expect(new Set(letters.map((letter) => letter.value)).size).toBe(MALFORMED);
  });

  it('counts what it did', async () => {
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string) => metrics.find((metric) => metric.name === name)?.values[0]?.value;
    expect(value('tokenwatch_ingest_events_consumed_total')).toBe(VALID + RESENT + MALFORMED);
    expect(value('tokenwatch_ingest_events_dead_lettered_total')).toBe(MALFORMED);
    const stored = value('tokenwatch_ingest_events_stored_total') ?? 0;
    const duplicate = value('tokenwatch_ingest_events_duplicate_total') ?? 0;
    // Re-sends in the same batch are counted as duplicates; the rest are sent and collapse in storage.
    expect(stored + duplicate).toBe(VALID + RESENT);
  });
});
