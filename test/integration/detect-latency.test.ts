import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector, type DetectorService } from '@tokenwatch/detector';
import { startIngest, type IngestService } from '@tokenwatch/ingest';
import { parseConfig } from '@tokenwatch/server/config-file';
import { readAlertsUpdatedSince } from '@tokenwatch/detector/alerts-store';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { openStorage, type Storage } from '@tokenwatch/server/storage';
import { createTopic, produce } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// The always-on path with default settings (1 s ingest batches, a detector tick every 5 s, a
// 3 s safety lag): an assertion replayed now must be an alert row within 15 seconds of the
// replay reaching Kafka.

function request(i: number, jti: string, extra: Partial<TokenRequestInput> = {}): TokenRequestInput {
  const now = Date.now();
  return {
    event_id: `lat-${i}`,
    time: now,
    idp: 'oidc-provider',
    tenant: 'acme',
    client_id: `svc-${i % 20}`,
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: 'success',
    source_ip: '3.208.10.4',
    assertion: { jti, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 120, alg: 'RS256' },
    ...extra,
  };
}

describe('detection latency of the always-on service', () => {
  const settings = settingsFrom(testEnv('latency'));
  const logger = createLogger('warn');
  let storage: Storage;
  let ingest: IngestService;
  let detector: DetectorService;

  beforeAll(async () => {
    await createTopic(settings.TOKENWATCH_TOPIC, 4);
    storage = await openStorage(settings, logger, { serveQueries: false });
    const registry = createRegistry();
    ingest = await startIngest({ settings, logger, clickhouse: storage.client, registry });
    detector = startDetector({ config: parseConfig({}, 'defaults').detectors, logger, clickhouse: storage.client, registry });
    // Ordinary traffic first, including the first use of the assertion that will be replayed.
    await produce(settings.TOKENWATCH_TOPIC, [
      ...Array.from({ length: 500 }, (_, i) => JSON.stringify(request(i, `jti-benign-${i}`))),
      JSON.stringify(request(1_000, 'jti-stolen', { client_id: 'svc-payments' })),
    ]);
  }, 60_000);

  afterAll(async () => {
    await detector?.stop();
    await ingest?.stop();
    await storage?.close();
  });

  it('turns a replay into an alert row within 15 seconds of it reaching Kafka', async () => {
    // The service has caught up: the ordinary traffic and the first use are stored.
    await waitFor(
      async () => {
        const result = await storage.client.query({ query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' });
        return Number((await result.json<{ n: string }>())[0]?.n);
      },
      (stored) => stored === 501,
      { timeoutMs: 30_000, what: '501 stored requests before the replay (observed: stored requests)' },
    );
    await produce(settings.TOKENWATCH_TOPIC, [
      JSON.stringify(request(1_001, 'jti-stolen', { client_id: 'svc-payments', source_ip: '185.220.101.9' })),
    ]);
    const reachedKafka = Date.now();
    await waitFor(
      () => readAlertsUpdatedSince(storage.client, 0),
      (alerts) => alerts.some((alert) => alert.finding === 'jti_replay' && alert.alert_key === 'jti-stolen'),
      { timeoutMs: 30_000, intervalMs: 100, what: 'the replay of jti-stolen as an alert row (observed: alert rows)' },
    );
    const latency = Date.now() - reachedKafka;
    process.stderr.write(`replay -> alert row: ${latency} ms\n`);
    expect(latency).toBeLessThan(15_000);
  }, 75_000);
});
