import { afterAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '@tokenwatch/server/service';
import { parseConfig } from '@tokenwatch/server/config-file';
import { startOpsServer } from '@tokenwatch/shared/http/ops-server';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { waitFor } from '../helpers/wait.js';
import { canonicalEvent } from '../helpers/events.js';
import { produce } from '../helpers/kafka.js';
import { freePort } from '../helpers/net.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// /healthz, /readyz and /metrics of the all-in-one service, in process against the real broker.

const logger = createLogger('silent');

async function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
}

/** The value of one sample line in the Prometheus text format, e.g. `name{label="x"}`. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ops endpoints', () => {
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it('answers /readyz 503 naming the failing check, and times out a check that hangs', async () => {
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      portSetting: 'TOKENWATCH_HTTP_PORT',
      registry: createRegistry(),
      logger,
      checks: { fine: async () => undefined, broken: async () => 'ClickHouse is down', stuck: () => new Promise(() => undefined) },
    });
    try {
      const ready = await get(ops.port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'not ready', checks: { fine: 'ok', broken: 'ClickHouse is down', stuck: 'no answer within 2000 ms' } });
      expect((await get(ops.port, '/healthz')).status).toBe(200);
      expect((await get(ops.port, '/nope')).status).toBe(404);
    } finally {
      await ops.close();
    }
  });

  it('is live at once, ready once the consumer joined its group, and exposes every component\'s metrics', async () => {
    const port = await freePort();
    const env = testEnv('ops', { TOKENWATCH_HTTP_PORT: String(port), TOKENWATCH_BATCH_MAX_WAIT_MS: '200' });
    // Probe from before the start: the server comes up first, ingest (Kafka, IP databases) last.
    const seen: { status: number; body: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const result = await get(port, '/readyz').catch(() => undefined);
        if (result) seen.push(result);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    service = await startService({ settings: settingsFrom(env), config: parseConfig({}, 'defaults'), logger });
    expect(service.ops?.port).toBe(port);
    expect((await get(port, '/healthz')).status).toBe(200);
    await waitFor(() => get(port, '/readyz'), (readyz) => readyz.status === 200, { timeoutMs: 30_000, what: '/readyz 200' });
    probing = false;
    await prober;
    const before = seen.find((result) => result.status === 503);
    expect(before, 'a 503 while ingest was starting').toBeDefined();
    expect(JSON.parse(before?.body ?? '{}')).toMatchObject({ status: 'not ready', checks: { clickhouse: 'ok' } });
    expect(JSON.parse(before?.body ?? '{}').checks.kafka_consumer).not.toBe('ok');
    expect(JSON.parse((await get(port, '/readyz')).body)).toEqual({ status: 'ready', checks: { clickhouse: 'ok', kafka_consumer: 'ok' } });

    // 50 valid events, one of them twice in the same batch, and two that are not JSON.
    const events = Array.from({ length: 50 }, (_, i) => JSON.stringify(canonicalEvent(i, { time: new Date(Date.now() - 60_000 + i).toISOString() })));
    await produce(env.TOKENWATCH_TOPIC as string, [...events, events[0] as string, 'not json', '{"broken":'], { chunk: 100 });
    const metrics = await waitFor(
      async () => (await get(port, '/metrics')).body,
      (body) => sample(body, 'tokenwatch_ingest_events_consumed_total') === 53 && sample(body, 'tokenwatch_ingest_consumer_lag{partition="0"}') === 0,
      { timeoutMs: 40_000, intervalMs: 500, what: 'the ingest counters and a zero lag' },
    );
    const { type } = await get(port, '/metrics');
    expect(type).toContain('text/plain');
    expect(sample(metrics, 'tokenwatch_ingest_events_stored_total')).toBe(50);
    expect(sample(metrics, 'tokenwatch_ingest_events_duplicate_total')).toBe(1);
    expect(sample(metrics, 'tokenwatch_ingest_events_dead_lettered_total')).toBe(2);
    expect(sample(metrics, 'tokenwatch_ingest_events_skipped_total')).toBe(0);
    expect(sample(metrics, 'tokenwatch_ingest_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'tokenwatch_ingest_insert_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'tokenwatch_ingest_insert_errors_total')).toBe(0);
    for (const partition of [0, 1, 2, 3]) expect(sample(metrics, `tokenwatch_ingest_consumer_lag{partition="${partition}"}`)).toBe(0);

    // The detectors tick every 5 s; the notifier polls every second.
    const later = await waitFor(
      async () => (await get(port, '/metrics')).body,
      // A tick runs the detectors one after another: wait for the last one's watermark.
      (body) => sample(body, 'tokenwatch_detector_watermark_age_seconds{detector="secret_new_location"}') !== undefined,
      { timeoutMs: 20_000, what: 'a complete detector tick' },
    );
    for (const detector of ['jti_replay', 'mint_volume', 'secret_new_location']) {
      expect(sample(later, `tokenwatch_detector_run_seconds_count{detector="${detector}"}`)).toBeGreaterThanOrEqual(1);
      const age = sample(later, `tokenwatch_detector_watermark_age_seconds{detector="${detector}"}`) ?? -1;
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
    }
    expect(sample(later, 'tokenwatch_notifier_pending_alert_versions{channel_kind="terminal"}')).toBe(0);
    for (const name of ['tokenwatch_detector_alerts_raised_total', 'tokenwatch_notifier_deliveries_total', 'tokenwatch_notifier_retries_total', 'tokenwatch_notifier_failures_total', 'tokenwatch_process_cpu_user_seconds_total']) {
      expect(later).toContain(`# TYPE ${name}`);
    }
  });
});
