import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { createTopic, produce, readTopic, waitForConsumed } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

/**
 * Every fixture of every IdP format, one Kafka message per file (or per line of a .log or
 * .jsonl file), interleaved in one topic with format auto-detection: what lands in
 * token_requests, the dead-letter topic and the skipped counter must be exactly what the
 * adapters make of each message in-process (their mapping is covered by the unit tests).
 */
const FIXTURES = new URL('../fixtures/formats/', import.meta.url);

function fixtureMessages(): string[] {
  const messages: string[] = [];
  for (const entry of readdirSync(FIXTURES, { recursive: true, withFileTypes: true })) {
    // A capture's cases.json (keycloak/real-26.x) describes the run; it is not a record.
    if (!entry.isFile() || entry.name === 'cases.json') continue;
    const text = readFileSync(`${entry.parentPath}/${entry.name}`, 'utf8');
    if (entry.name.endsWith('.log') || entry.name.endsWith('.jsonl')) messages.push(...text.split('\n').filter((line) => line.trim() !== ''));
    else messages.push(JSON.stringify(JSON.parse(text)));
  }
  // Interleave formats so the consumer sees them mixed within batches.
  return messages.map((message, i) => ({ message, key: (i * 7919) % messages.length })).sort((a, b) => a.key - b.key).map(({ message }) => message);
}

/** The jtis a real Keycloak reported replayed, in the order they were captured. */
const REAL_REPLAYS = (
  JSON.parse(readFileSync(new URL('keycloak/real-26.x/cases.json', FIXTURES), 'utf8')) as { cases: { name: string; assertion_jtis: string[] }[] }
).cases
  .filter((c) => c.name.endsWith('-replay'))
  .flatMap((c) => c.assertion_jtis);

describe('mixed IdP formats through Kafka', () => {
  // Fixture events are dated back to 2024: a longer retention keeps TTL from dropping them mid-test.
  const env = testEnv('formats', { TOKENWATCH_RETENTION_DAYS: '3650' });
  const settings = settingsFrom(env);
  const registry = createRegistry();
  const messages = fixtureMessages();
  const expected = { stored: new Map<string, Set<string>>(), deadLettered: 0, skipped: 0 };
  let storage: Storage;
  let ingest: IngestService;

  beforeAll(async () => {
    for (const message of messages) {
      const results = decodeMessage(message, { adapters: FORMATS, format: 'auto' });
      if (results.some((result) => result.kind === 'dlq')) expected.deadLettered += 1;
      for (const result of results) {
        if (result.kind === 'skip') expected.skipped += 1;
        if (result.kind !== 'ok') continue;
        const ids = expected.stored.get(result.event.idp) ?? new Set<string>();
        ids.add(result.event.event_id);
        expected.stored.set(result.event.idp, ids);
      }
    }
    await createTopic(settings.TOKENWATCH_TOPIC, 2);
    storage = await openStorage(settings, createLogger('warn'));
    ingest = await startIngest({ settings, logger: createLogger('warn'), clickhouse: storage.client, registry });
    await produce(settings.TOKENWATCH_TOPIC, messages);
  });

  afterAll(async () => {
    await ingest?.stop();
    await storage?.close();
  });

  it('has fixtures of every vendor format, valid ones and bad ones', () => {
    expect([...expected.stored.keys()].sort()).toEqual(expect.arrayContaining(['auth0', 'cognito', 'entra', 'okta']));
    expect(expected.deadLettered).toBeGreaterThan(0);
    expect(expected.skipped).toBeGreaterThan(0);
  });

  it('stores every valid event of every format once, under its IdP', async () => {
    const total = [...expected.stored.values()].reduce((sum, ids) => sum + ids.size, 0);
    const count = async () => {
      const result = await storage.client.query({ query: 'SELECT idp, uniqExact(event_id) AS n FROM token_requests FINAL GROUP BY idp', format: 'JSONEachRow' });
      return new Map((await result.json<{ idp: string; n: string }>()).map((row) => [row.idp, Number(row.n)]));
    };
    await waitFor(count, (stored) => [...stored.values()].reduce((a, b) => a + b, 0) >= total, {
      what: `${total} events, expected per IdP ${JSON.stringify([...expected.stored].map(([idp, ids]) => [idp, ids.size]))} (observed: stored per IdP)`,
      timeoutMs: 30_000,
    });
    const stored = await count();
    expect(Object.fromEntries(stored)).toEqual(Object.fromEntries([...expected.stored].map(([idp, ids]) => [idp, ids.size])));
  });

  it("stores Keycloak's replay warning as a replay report, with the line's facts and \"not logged\" for the rest", async () => {
    // Stored by the previous test's wait; test/unit/formats/keycloak.test.ts covers the mapping.
    const result = await storage.client.query({
      query: `SELECT tenant, client_id, grant_type, auth_method, toString(source_ip) AS source_ip, ip_scope, geo_source, country,
                     replay_reported, assertion_jti, toUnixTimestamp64Milli(time) AS time_ms, outcome, error_code
              FROM token_requests FINAL WHERE idp = 'keycloak' AND replay_reported ORDER BY time`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<Record<string, unknown>>();
    expect(rows.map((row) => row.assertion_jti)).toEqual([
      'd6a4f5e7-8192-4dae-bfc0-31425d6e7f80', // the JSON log record, 00:02:13Z
      'a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d', // text lines, 01:02:09 and later (read as UTC)
      'b4e2d3c5-6f70-4b8c-9dae-1f203b4c5d6e',
      'c5f3e4d6-7081-4c9d-aebf-20314c5d6e7f', // issuedFor 'null', nothing names the client: client unknown
      'e7b5a6f8-9203-4ebf-8c01-42536e7f8091',
      ...REAL_REPLAYS, // what Keycloak 26.5.6 logged (keycloak/real-26.x), 2026-11-30
    ]);
    expect(rows[1]).toEqual({
      tenant: 'unknown',
      client_id: 'svc-orders',
      grant_type: 'unknown',
      auth_method: 'unknown',
      source_ip: '::',
      ip_scope: 'unspecified',
      geo_source: 'none',
      country: '',
      replay_reported: true,
      assertion_jti: 'a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      time_ms: Date.UTC(2026, 10, 28, 1, 2, 9, 314),
      outcome: 'failure',
      error_code: 'invalid_client',
    });
    // A JSON record's MDC, and a text line printed with its MDC, name the realm and the address.
    expect(rows[0]).toMatchObject({ tenant: 'acme', client_id: 'svc-payments', source_ip: '::ffff:203.0.113.91', grant_type: 'unknown' });
    expect(rows[3]).toMatchObject({ tenant: 'unknown', client_id: 'unknown', source_ip: '::' });
    expect(rows[4]).toMatchObject({ tenant: 'acme', client_id: 'svc-reports', source_ip: '::ffff:198.51.100.77', ip_scope: 'reserved' });
  });

  it('dead-letters the malformed messages with a reason naming the format, and counts the skipped ones', async () => {
    // The worker commits a batch after dead-lettering it: once all is committed, the topic is complete.
    await waitForConsumed(settings.TOKENWATCH_CONSUMER_GROUP, settings.TOKENWATCH_TOPIC);
    const letters = await readTopic(settings.TOKENWATCH_DLQ_TOPIC, expected.deadLettered);
    expect(letters).toHaveLength(expected.deadLettered);
    const vendorReasons = letters.filter((letter) => /^(okta|auth0|entra|cognito|keycloak|oidc-provider): /.test(letter.headers['dlq-reason'] ?? ''));
    expect(vendorReasons.length).toBeGreaterThan(0);
    const metrics = await registry.getMetricsAsJSON();
    expect(metrics.find((metric) => metric.name === 'tokenwatch_ingest_events_skipped_total')?.values[0]?.value).toBe(expected.skipped);
  });
});
