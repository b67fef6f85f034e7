import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { parseConfig } from '@tokenwatch/server/config-file';
import { startService, type Service } from '@tokenwatch/server/service';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { sampleDraft, type SampleFinding } from '../helpers/alerts.js';
import { createTopic } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { startSlackStub, type SlackStub, type StubMessage } from '../helpers/slack-stub.js';
import { waitFor } from '../helpers/wait.js';

// Issue #11, "Slack down for minutes": the always-on service keeps running while Slack refuses
// connections (the stub stopped, its port closed) and then answers 503 to every call, alerts
// are raised meanwhile, and when Slack comes back every alert is posted exactly once without a
// restart. The notifier polls on its real schedule (every 1 s) with its real retry logic (5
// attempts per call, exponential backoff, a pause before searching the channel after an
// ambiguous failure), its intervals set a quarter of the defaults' through the notify config
// (backoff from 250 ms up to 1 s, the search after 500 ms): a failed delivery round takes a few
// seconds instead of 10-20, so an outage of 24 s spans the same number of failed rounds per
// phase as one of 75 s did at the defaults, in a third of the time.

const TOKEN = 'xoxb-slack-down-0123456789';
const CHANNEL = 'C0ALERTS';
/** Connection refused for this long, then 503 for every call until OUTAGE_MS in all. */
const REFUSED_MS = 12_000;
const OUTAGE_MS = 24_000;
/** Failed delivery rounds (the notifier's "delivery paused" warnings) each phase must span. */
const ROUNDS_PER_PHASE = 2;
const PAUSED = 'delivery paused: will retry on the next poll';

const logLines: string[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      callback();
    },
  }),
);
const pausedRounds = () => logLines.filter((line) => line.includes(PAUSED)).length;

const FINDINGS: readonly SampleFinding[] = ['jti_replay', 'mint_volume', 'secret_new_location', 'invalid_client_burst', 'jti_cross_client', 'assertion_hygiene'];

/** Alert `i` of the outage, each finding in turn. */
function draft(i: number, overrides: Partial<AlertDraft> = {}): AlertDraft {
  return sampleDraft(i, { finding: FINDINGS[i % FINDINGS.length] as SampleFinding, alert_key: `outage-${i}`, summary: `Alert ${i} raised while Slack is down.`, ...overrides });
}

const alertIdOf = (message: StubMessage) => String(message.metadata?.event_payload.alert_id ?? '');

describe('fault: Slack down for as many failed delivery rounds as minutes at the defaults (the always-on service against a Slack stub over HTTP)', () => {
  let stub: SlackStub;
  let service: Service;
  /** How the service's `done` settled; undefined while it runs. */
  let settled: string | undefined;
  // The waits below end early when the service stops, and the next assertion says how.
  const running = () => settled ?? 'running';

  beforeAll(async () => {
    stub = await startSlackStub({ token: TOKEN });
    const env = testEnv('slack-down', { SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, TOKENWATCH_HTTP_PORT: '0' });
    await createTopic(env.TOKENWATCH_TOPIC as string);
    service = await startService({ settings: settingsFrom(env), config: parseConfig({ notify: { slack: { backoff_base_ms: 250, backoff_max_ms: 1_000, lookup_delay_ms: 500 } } }, 'test'), logger });
    service.done.then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = `rejected: ${String(error)}`),
    );
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await stub?.close();
  });

  /** A metric sample of the service's own /metrics endpoint (0 when not exposed yet). */
  async function metric(name: string, labels: string): Promise<number> {
    const ops = service.ops;
    if (!ops) throw new Error('the ops server is off');
    const text = await (await fetch(`http://${ops.host}:${ops.port}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
  const pending = () => metric('tokenwatch_notifier_pending_alert_versions', 'channel_kind="slack"');
  const retries = () => metric('tokenwatch_notifier_retries_total', 'channel_kind="slack",reason="ambiguous"');

  async function raise(...drafts: AlertDraft[]): Promise<string[]> {
    const { raised, updated } = await upsertAlerts(service.storage.client, drafts, Date.now());
    return [...raised, ...updated].map((alert) => alert.alert_id);
  }

  async function rootLedger(): Promise<{ alert_id: string; ts: string }[]> {
    const result = await service.storage.client.query({
      query: "SELECT alert_id, ts FROM notifications WHERE sink = 'slack' AND message = 'root' AND step = 'sent' ORDER BY recorded_at",
      format: 'JSONEachRow',
    });
    return result.json();
  }

  it('keeps running through the outage and then posts every alert raised meanwhile exactly once', async () => {
    const started = Date.now();
    // Before the outage: the pipeline works.
    const before = await raise(draft(0));
    await waitFor(() => stub.roots(CHANNEL).map(alertIdOf), (ids) => ids.includes(before[0] as string), { timeoutMs: 30_000, what: 'the first alert in Slack (observed: root alert ids)' });
    const postsBefore = stub.roots(CHANNEL).length;

    // Phase 1: Slack unreachable (connection refused on its port).
    const outageStart = Date.now();
    await stub.stop();
    const retriesBefore = await retries();
    const raisedWhileDown = await raise(draft(1), draft(2));
    // The outage is reported: retries counted and a backlog of pending alert versions.
    await waitFor(
      async () => (running() === 'running' ? { service: running(), retries: await retries(), pending: await pending() } : { service: running() }),
      (seen) => seen.service !== 'running' || ((seen.retries ?? 0) > retriesBefore && (seen.pending ?? 0) > 0),
      { timeoutMs: 60_000, intervalMs: 500, what: 'retries and a pending backlog in /metrics while Slack refuses connections' },
    );
    expect(settled).toBeUndefined();
    raisedWhileDown.push(...(await raise(draft(3))));
    // A repeat of an alert not yet delivered: a new version, still one root.
    await raise(draft(1, { last_seen: Date.now() - 1_000, event_count: 5 }));
    const roundsBefore = pausedRounds();
    await waitFor(
      () => ({ service: running(), elapsed: Date.now() - outageStart, pausedRounds: pausedRounds() - roundsBefore }),
      (seen) => seen.service !== 'running' || (seen.elapsed >= REFUSED_MS && seen.pausedRounds >= ROUNDS_PER_PHASE),
      { timeoutMs: REFUSED_MS + 60_000, intervalMs: 500, what: `${REFUSED_MS} ms of refused connections spanning ${ROUNDS_PER_PHASE} failed delivery rounds` },
    );
    expect(settled).toBeUndefined();

    // Phase 2: Slack listens again on the same port but answers 503 to every call.
    stub.failAll({ kind: 'status', status: 503 });
    await stub.restart();
    raisedWhileDown.push(...(await raise(draft(4), draft(5))));
    const phase2Rounds = pausedRounds();
    await waitFor(
      () => ({ service: running(), elapsed: Date.now() - outageStart, pausedRounds: pausedRounds() - phase2Rounds, refused: stub.requests.filter((request) => request.fault === 'status').length }),
      (seen) => seen.service !== 'running' || (seen.elapsed >= OUTAGE_MS && seen.pausedRounds >= ROUNDS_PER_PHASE && seen.refused > 0),
      { timeoutMs: OUTAGE_MS + 60_000, intervalMs: 500, what: `${OUTAGE_MS} ms of outage in all, the 503 phase spanning ${ROUNDS_PER_PHASE} failed delivery rounds` },
    );
    const outageMs = Date.now() - outageStart;
    expect(stub.roots(CHANNEL)).toHaveLength(postsBefore); // nothing got through a 503
    expect(await pending()).toBeGreaterThan(0);
    expect(settled).toBeUndefined();

    // Slack is back: everything raised meanwhile arrives, with no restart of the service.
    stub.failAll(undefined);
    const recovered = Date.now();
    const expected = [...before, ...new Set(raisedWhileDown)].sort();
    expect(expected).toHaveLength(6);
    await waitFor(
      async () => ({ service: running(), roots: stub.roots(CHANNEL).map(alertIdOf).sort(), pending: running() === 'running' ? await pending() : undefined }),
      (seen) => seen.service !== 'running' || (expected.every((id) => seen.roots.includes(id)) && seen.pending === 0),
      { timeoutMs: 90_000, intervalMs: 500, what: 'a root for every alert and no backlog after Slack came back' },
    );
    expect(settled).toBeUndefined();
    const recoveryMs = Date.now() - recovered;
    // One more full round changes nothing: exactly one root per alert, and the ledger agrees.
    await service.notifier.runOnce();
    const roots = stub.roots(CHANNEL);
    expect(roots.map(alertIdOf).sort()).toEqual(expected);
    const ledger = await rootLedger();
    expect(ledger.map((row) => row.alert_id).sort()).toEqual(expected);
    expect(ledger.map((row) => row.ts).sort()).toEqual(roots.map((root) => root.ts).sort());
    expect(await pending()).toBe(0);
    expect(settled).toBeUndefined();
    expect(service.ingest.notConsumingBecause()).toBeUndefined();

    // eslint-disable-next-line no-console
    console.log(
      `slack-down: outage ${outageMs} ms (${REFUSED_MS} ms refused, then 503), ${pausedRounds()} failed delivery rounds, ${await retries()} ambiguous retries, ` +
        `recovered in ${recoveryMs} ms, test ${Date.now() - started} ms`,
    );
  }, 300_000);
});
