import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '@tokenwatch/server/service';
import { parseConfig } from '@tokenwatch/server/config-file';
import { createDetectors } from '@tokenwatch/detector/registry';
import { createLogger } from '@tokenwatch/shared/log';
import { ATTACK_KINDS, renderNative, simulate, type AttackLabel } from '@tokenwatch/simulator/index';
import { runCli } from '../helpers/cli.js';
import { Partitioners } from 'kafkajs';
import { createTopic, testKafka, waitForConsumed } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { startSlackStub, type SlackStub, type StubMessage } from '../helpers/slack-stub.js';
import { waitFor } from '../helpers/wait.js';

// The whole pipeline in one process against the real broker: simulated native-format IdP logs
// (Okta, Auth0, Entra, Keycloak, and the tap's canonical events) with one attack of each kind
// -> Kafka -> ingest -> embedded ClickHouse -> detectors on their schedule -> notifier -> a
// Slack stand-in. 40 clients over 10 days (about 77,000 requests; attacks start after 8 days
// of history) keep it around a minute.

const DAY = 86_400_000;
const RETENTION_DAYS = 90;
const TOKEN = 'xoxb-end-to-end';
const CHANNEL = 'C0ALERTS';

interface AlertRow {
  alert_id: string;
  finding: string;
  tenant: string;
  client_id: string;
  summary: string;
}

describe('end to end: simulator -> Kafka -> ingest -> ClickHouse -> detectors -> notifier -> Slack', () => {
  let stub: SlackStub;
  let service: Service;
  let env: Record<string, string>;
  let labels: readonly AttackLabel[] = [];
  let produced = 0;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const started = Date.now();
    stub = await startSlackStub({ token: TOKEN });
    env = testEnv('e2e', { SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, TOKENWATCH_HTTP_PORT: '0', TOKENWATCH_RETENTION_DAYS: String(RETENTION_DAYS) });

    // Ten days ending at today's midnight, so every event is in the past and within retention.
    const start = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
    const simulation = simulate({ seed: 7, start, days: 10, clients: 40, attacks: 'all', attacksPerKind: 1 });
    const topic = env.TOKENWATCH_TOPIC as string;
    await createTopic(topic);
    const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // In time order, keyed by client as the demo does, so each client's log stays in order.
    const batch: { key: string; value: string }[] = [];
    const send = async () => {
      const messages = batch.splice(0);
      await producer.send({ topic, acks: -1, messages });
      produced += messages.length;
    };
    // The simulation's weekly and monthly jobs bring months of history before the ten days (for
    // dormant_client); ingest would not store what is older than the retention, so it is not sent.
    const oldestKept = Date.now() - RETENTION_DAYS * DAY + DAY;
    for (const event of simulation.events) {
      if ((typeof event.time === 'number' ? event.time : Date.parse(event.time)) < oldestKept) continue;
      batch.push({ key: `${event.tenant}/${event.client_id}`, value: JSON.stringify(renderNative(event)) });
      if (batch.length >= 1_000) await send(); // a partition's share stays under the broker's 1 MB batch limit
    }
    await send();
    await producer.disconnect();
    labels = simulation.labels;
    timings.produce = Date.now() - started;

    service = await startService({ settings: settingsFrom(env), config: parseConfig({}, 'defaults'), logger: createLogger('error') });
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await stub?.close();
    // eslint-disable-next-line no-console
    console.log(`end-to-end timings (ms): ${JSON.stringify(timings)}`);
  });

  const alertsById = async (): Promise<Map<string, AlertRow>> => {
    const result = await service.storage.client.query({ query: 'SELECT alert_id, finding, tenant, client_id, summary FROM alerts FINAL', format: 'JSONEachRow' });
    return new Map((await result.json<AlertRow>()).map((row) => [row.alert_id, row]));
  };
  const storedRequests = async (): Promise<number> => {
    const result = await service.storage.client.query({ query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]?.n);
  };
  /** Ingest commits a batch after storing it: a fully committed topic is fully stored. */
  const ingestDone = () => waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string, { timeoutMs: 120_000 });
  const alertIdOf = (message: StubMessage) => String(message.metadata?.event_payload.alert_id ?? '');
  /**
   * Each alert's first message: top-level, or in the thread of a storm's digest when more than
   * digest_threshold new alerts came within a minute (a machine fast enough to catch up in
   * seconds raised the attacks' alerts in one storm, and they were delivered in its thread).
   */
  const alertMessages = () => stub.messages.filter((message) => message.channel === CHANNEL && message.metadata?.event_payload.kind === 'root');
  const rootsFor = (label: AttackLabel, alerts: Map<string, AlertRow>) =>
    alertMessages().filter((message) => {
      const alert = alerts.get(alertIdOf(message));
      return alert !== undefined && alert.finding === label.finding && alert.tenant === label.tenant && alert.client_id === label.client_id;
    });

  it('injects one attack of every kind into the simulated traffic', () => {
    expect(produced).toBeGreaterThan(50_000);
    expect(labels.map((label) => label.kind).sort()).toEqual([...ATTACK_KINDS].sort());
  });

  it('answers `tokenwatch sql` from another process while the service runs', async () => {
    await ingestDone();
    // Every simulated request (one message each) stored once, and another process sees exactly that.
    expect(await storedRequests()).toBe(produced);
    const result = await runCli(['sql', 'SELECT count() AS n FROM token_requests FINAL'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(Number((JSON.parse(result.stdout.trim()) as { n: string | number }).n)).toBe(produced);
  }, 180_000);

  it('delivers each injected attack kind to Slack exactly once', async () => {
    const started = Date.now();
    // Every label's alert delivered (its first message, top-level or in a digest's thread)...
    await waitFor(
      async () => {
        const alerts = await alertsById();
        return labels.filter((label) => rootsFor(label, alerts).length === 0).map((label) => label.kind);
      },
      (undelivered) => undelivered.length === 0,
      // Eleven detectors catch up on months of calendar-job history and ten days of traffic:
      // 87 s alone on the 2-core machine, and over 150 s while the suite runs beside it.
      { timeoutMs: 300_000, intervalMs: 1_000, what: 'a Slack message for every injected attack (observed: attack kinds without one)' },
    );
    timings.allDelivered = Date.now() - started;
    // ...and still once after everything is stored, every detector has examined all of it
    // (a tick whose span ends past the last arrival) and the notifier has delivered the result.
    await ingestDone();
    const [arrival] = await (await service.storage.client.query({ query: 'SELECT toUnixTimestamp64Milli(max(ingested_at)) AS last FROM token_requests', format: 'JSONEachRow' })).json<{ last: string }>();
    const lastArrival = Number(arrival?.last);
    // A detector that fails is missing from a tick's results: all of them must report.
    const detectors = createDetectors().length;
    await waitFor(
      async () => (await service.detector.tick()).map((tick) => tick.until),
      (spanEnds) => spanEnds.length === detectors && spanEnds.every((until) => until >= lastArrival),
      { timeoutMs: 30_000, intervalMs: 500, what: `a detector tick past the last arrival at ${lastArrival} (observed: each detector's span end)` },
    );
    await service.notifier.runOnce();
    const alerts = await alertsById();
    const perKind = Object.fromEntries(labels.map((label) => [label.kind, rootsFor(label, alerts).length]));
    expect(perKind).toEqual(Object.fromEntries(labels.map((label) => [label.kind, 1])));

    const explained = new Set(labels.flatMap((label) => rootsFor(label, alerts)).map(alertIdOf));
    const benign = alertMessages().filter((message) => !explained.has(alertIdOf(message)));
    // Reported, not asserted: on 40 clients the detectors may flag benign behaviour too.
    // eslint-disable-next-line no-console
    console.log(
      `end-to-end: ${alertMessages().length} alerts delivered (${stub.roots(CHANNEL).length} top-level messages), ${benign.length} not explained by a label` +
        benign.map((message) => {
          const alert = alerts.get(alertIdOf(message));
          return `\n  ${alert?.finding} ${alert?.tenant}/${alert?.client_id}: ${alert?.summary}`;
        }).join(''),
    );
  }, 400_000);
});
