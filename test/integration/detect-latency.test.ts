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
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await produce(settings.TOKENWATCH_TOPIC, [
      JSON.stringify(request(1_001, 'jti-stolen', { client_id: 'svc-payments', source_ip: '185.220.101.9' })),
    ]);
    const reachedKafka = Date.now();
    let latency = Number.POSITIVE_INFINITY;
    while (Date.now() - reachedKafka < 30_000) {
      const alerts = await readAlertsUpdatedSince(storage.client, 0);
      if (alerts.some((alert) => alert.finding === 'jti_replay' && alert.alert_key === 'jti-stolen')) {
        latency = Date.now() - reachedKafka;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    process.stderr.write(`replay -> alert row: ${latency} ms\n`);
    expect(latency).toBeLessThan(15_000);
  }, 45_000);
});
