import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import { startService, type Service } from '@tokenwatch/server/service';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry, type Registry } from '@tokenwatch/shared/metrics';
import { canonicalEvent } from '../helpers/events.js';
import { createTopic, produce } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// Promise (docs/reliability.md): ClickHouse unavailable for a while stops nothing. Ingest
// pauses, the detectors' ticks fail and are retried from their watermarks, the notifier's
// rounds fail and are retried; when the tables are back, a replay sent during the outage is
// stored, detected and delivered, and the service never stopped.

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, { value }) => sum + value, 0);
}

describe('fault: ClickHouse tables unavailable for a while under the always-on service', () => {
  const env = testEnv('fault-blip', { TOKENWATCH_HTTP_PORT: 'off' });
  const registry = createRegistry();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  let service: Service;
  let stoppedOnItsOwn = false;

  beforeAll(async () => {
    await createTopic(env.TOKENWATCH_TOPIC as string, 2);
    const config = parseConfig({ detectors: { schedule: '*/1 * * * * *', safety_lag_seconds: 0 }, notify: { poll_interval_ms: 200 } }, 'test');
    service = await startService({ settings: settingsFrom(env), config, logger: createLogger('silent'), registry, output });
    service.done.then(
      () => (stoppedOnItsOwn = true),
      () => (stoppedOnItsOwn = true),
    );
  }, 120_000);

  afterAll(async () => {
    await service?.stop().catch(() => undefined);
  });

  it('pauses, retries and delivers once the tables are back, without stopping', async () => {
    const client = service.storage.client;
    // The outage: token_requests (ingest's inserts, the detectors' reads) and the alerts table
    // (the detectors' upserts, the notifier's reads) disappear.
    await client.command({ query: 'DETACH TABLE token_requests' });
    await client.command({ query: 'DETACH TABLE alerts' });
    const replay = [
      canonicalEvent(1, { tenant: 'acme', client_id: 'svc-payments', assertion: { jti: 'jti-blip', iat: 1_795_780_800, exp: 1_795_781_100, alg: 'RS256' } }),
      canonicalEvent(2, { tenant: 'acme', client_id: 'svc-payments', time: new Date(Date.UTC(2026, 10, 27, 12, 0, 1)).toISOString(), assertion: { jti: 'jti-blip', iat: 1_795_780_800, exp: 1_795_781_100, alg: 'RS256' } }),
    ].map((event) => JSON.stringify(event));
    await produce(env.TOKENWATCH_TOPIC as string, replay);

    await waitFor(() => service.ingest.consuming(), (consuming) => !consuming, { what: 'ingest to pause while its table is gone', timeoutMs: 60_000 });
    await waitFor(() => counter(registry, 'tokenwatch_notifier_round_errors_total'), (errors) => errors >= 2, { what: 'notifier rounds to fail and be retried', timeoutMs: 60_000 });
    await waitFor(() => counter(registry, 'tokenwatch_detector_run_errors_total'), (errors) => errors >= 1, { what: 'a detector tick to fail and be retried', timeoutMs: 60_000 });
    expect(stoppedOnItsOwn, 'the service stopped during the outage').toBe(false);

    await client.command({ query: 'ATTACH TABLE alerts' });
    await client.command({ query: 'ATTACH TABLE token_requests' });
    await waitFor(() => printed, (text) => text.includes('jti_replay') && text.includes('svc-payments'), { what: 'the replay alert on the terminal sink', timeoutMs: 120_000 });
    await waitFor(() => service.ingest.consuming(), (consuming) => consuming, { what: 'ingest to resume' });
    expect(stoppedOnItsOwn).toBe(false);
    // Delivered once: one terminal block for the alert.
    expect(printed.match(/\] jti_replay firing/g)?.length ?? 0).toBe(1);
  }, 300_000);
});
