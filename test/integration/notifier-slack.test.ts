import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNotifier } from '@tokenwatch/notifier';
import { parseConfig } from '@tokenwatch/server/config-file';
import { resolveQuietAlerts, upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { triageAlert } from '@tokenwatch/detector/triage/triage';
import type { Severity } from '@tokenwatch/shared/alerts/alert';
import { ConfigError, DependencyError } from '@tokenwatch/shared/errors';
import { POSSIBLE_DUPLICATE_NOTE } from '@tokenwatch/notifier/slack-sender';
import { formatTime } from '@tokenwatch/notifier/message';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { sampleDraft, sampleEvidence } from '../helpers/alerts.js';
import { runCli } from '../helpers/cli.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { blockProblem, startSlackStub, type RecordedRequest, type SlackStub, type StubMessage } from '../helpers/slack-stub.js';
import { waitFor } from '../helpers/wait.js';

// One embedded data directory for the file (chDB binds one per process); each test starts
// from empty alerts and ledger tables and its own Slack stub.

const TOKEN = 'xoxb-1111-2222-SeCrEtTokenValue0123456789';
const CHANNEL = 'C0ALERTS';

const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString('utf8'));
      callback();
    },
  }),
);

const draft = sampleDraft;

const metadataId = (message: StubMessage) => message.metadata?.event_payload.alert_id;
const posts = (stub: SlackStub) => stub.requests.filter((request) => request.method === 'chat.postMessage');

// Both describe blocks (and the CLI run at the end) use this one data directory in turn.
const env = testEnv('notifier');

describe('notifier → Slack (against a Slack Web API stub)', () => {
  const allRequests: RecordedRequest[] = [];
  let clickhouse: ClickHouse;
  let stub: SlackStub;

  const settings = (extra: Record<string, string> = {}) =>
    settingsFrom({ ...env, SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, ...extra });

  const config = (notify: Record<string, unknown> = {}, slack: Record<string, unknown> = {}) =>
    parseConfig(
      {
        notify: {
          poll_interval_ms: 50,
          ...notify,
          slack: { timeout_ms: 400, min_interval_ms: 0, backoff_base_ms: 20, backoff_max_ms: 100, lookup_delay_ms: 0, repeat_reply_interval_seconds: 0, ...slack },
        },
      },
      'test',
    );

  const notifier = (options: { notify?: Record<string, unknown>; slack?: Record<string, unknown>; env?: Record<string, string> } = {}) =>
    startNotifier({
      settings: settings(options.env),
      config: config(options.notify, options.slack),
      logger,
      clickhouse: clickhouse.client,
      registry: new Registry(),
      poll: false,
    });

  /** One notifier process lifetime: start, deliver what is pending, stop. */
  async function runOnce(options: Parameters<typeof notifier>[0] = {}): Promise<void> {
    const service = await notifier(options);
    try {
      await service.runOnce();
    } finally {
      await service.stop();
    }
  }

  async function ledger(): Promise<{ alert_id: string; message: string; step: string; channel: string; ts: string; thread_ts: string; detail: string }[]> {
    const result = await clickhouse.client.query({ query: 'SELECT * FROM notifications ORDER BY recorded_at', format: 'JSONEachRow' });
    return result.json();
  }

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(env));
    await migrate(clickhouse.client, { retention_days: 90 });
  });

  beforeEach(async () => {
    stub = await startSlackStub({ token: TOKEN });
    await clickhouse.client.command({ query: 'TRUNCATE TABLE alerts' });
    await clickhouse.client.command({ query: 'TRUNCATE TABLE notifications' });
    // Triage actions of one test must not be carried onto another test's alert of the same fingerprint.
    await clickhouse.client.command({ query: 'TRUNCATE TABLE alert_actions' });
  });

  afterEach(async () => {
    allRequests.push(...stub.requests);
    await stub.close();
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('posts one root per alert with valid blocks and metadata, records its ts, and posts nothing again after a restart', async () => {
    const { raised } = await upsertAlerts(clickhouse.client, [draft(1), draft(2), draft(3)], Date.now());
    await runOnce();
    const roots = stub.roots(CHANNEL);
    expect(roots.map(metadataId).sort()).toEqual(raised.map((alert) => alert.alert_id).sort());
    for (const root of roots) {
      expect(blockProblem(root.blocks)).toBeUndefined();
      expect(root.metadata?.event_type).toBe('tokenwatch_alert');
      expect(root.text).toMatch(/^HIGH jti_replay: /);
    }
    const sent = (await ledger()).filter((row) => row.message === 'root' && row.step === 'sent');
    expect(sent.map((row) => row.ts).sort()).toEqual(roots.map((root) => root.ts).sort());
    expect(new Set(sent.map((row) => row.channel))).toEqual(new Set([CHANNEL]));

    await runOnce();
    await runOnce();
    expect(posts(stub)).toHaveLength(3);
    expect(stub.requests.filter((request) => request.method === 'chat.update')).toHaveLength(0);
  });

  it('threads repeats and updates the root in order; escalation and resolution update it too', async () => {
    const first = draft(1);
    await upsertAlerts(clickhouse.client, [first], Date.now());
    await runOnce();
    const [root] = stub.roots();
    expect(root).toBeDefined();

    await upsertAlerts(clickhouse.client, [{ ...first, event_count: 5, last_seen: first.last_seen + 1_000 }], Date.now() + 1);
    await runOnce();
    await upsertAlerts(clickhouse.client, [{ ...first, severity: 'critical', event_count: 9, last_seen: first.last_seen + 2_000 }], Date.now() + 2);
    await runOnce();
    await resolveQuietAlerts(clickhouse.client, 'jti_replay', 0, Date.now() + 3);
    await runOnce();

    expect(stub.roots()).toHaveLength(1);
    const replies = stub.replies(root!.ts);
    expect(replies.map((reply) => reply.text.replace(/^jti_replay svc-1: /, '').split(':')[0])).toEqual(['Seen again', 'Escalated from high to *critical*', 'Resolved']);
    expect(root!.updates.map((update) => update.text.split(':')[0])).toEqual(['HIGH jti_replay', 'CRITICAL jti_replay', 'CRITICAL jti_replay (resolved)']);
    expect(root!.updates[0]!.blocks).toContainEqual(expect.objectContaining({ fields: expect.arrayContaining([{ type: 'mrkdwn', text: '*Requests*\n5' }]) }));
    // Each reply went out before its root update.
    const calls = stub.requests.filter((request) => request.method.startsWith('chat.')).map((request) => request.method);
    expect(calls).toEqual(['chat.postMessage', ...Array<string[]>(3).fill(['chat.postMessage', 'chat.update']).flat()]);
    for (const update of root!.updates) expect(blockProblem(update.blocks)).toBeUndefined();
  });

  it('says in the root who acknowledged an alert, and pages nobody again as it grows: no new root, no reply, the root updated', async () => {
    const first = draft(1);
    const { raised } = await upsertAlerts(clickhouse.client, [first], Date.now());
    await runOnce();
    const [root] = stub.roots();
    expect(root).toBeDefined();

    await triageAlert(clickhouse.client, { action: 'ack', alert_id: raised[0]!.alert_id, actor: 'alice', note: 'looking <!here>' }, Date.now() + 1);
    await runOnce();
    expect(root!.updates).toHaveLength(1);
    const ackUpdate = JSON.stringify(root!.updates[0]!.blocks);
    expect(ackUpdate).toContain('acknowledged by alice at ');
    // The note is escaped: it cannot ping the channel.
    expect(ackUpdate).toContain('looking &lt;!here&gt;');
    expect(root!.updates[0]!.text).toMatch(/^HIGH jti_replay \(acknowledged\): /);
    expect(stub.replies(root!.ts).map((reply) => reply.text)).toEqual([expect.stringContaining('Acknowledged by alice at ')]);

    // It grows (twice): the root shows the new count and still says who has it; nothing else is posted.
    for (let i = 1; i <= 2; i++) {
      await upsertAlerts(clickhouse.client, [{ ...first, event_count: 5 + i, last_seen: first.last_seen + i * 1_000 }], Date.now() + 1 + i);
      await runOnce();
    }
    expect(stub.roots()).toHaveLength(1);
    expect(stub.replies(root!.ts)).toHaveLength(1);
    expect(root!.updates).toHaveLength(3);
    expect(root!.updates[2]!.blocks).toContainEqual(expect.objectContaining({ fields: expect.arrayContaining([{ type: 'mrkdwn', text: '*Requests*\n7' }]) }));
    expect(JSON.stringify(root!.updates[2]!.blocks)).toContain('acknowledged by alice at ');
    expect(posts(stub).some((request) => /<!here>|<!channel>/.test(request.body))).toBe(false);

    // Resolved by a human: a reply that says by whom, and the root says so.
    await triageAlert(clickhouse.client, { action: 'resolve', alert_id: raised[0]!.alert_id, actor: 'bob', verdict: 'benign' }, Date.now() + 10);
    await runOnce();
    expect(stub.replies(root!.ts).map((reply) => reply.text)).toEqual([expect.stringContaining('Acknowledged by alice'), expect.stringContaining('Resolved: resolved by bob at ')]);
    expect(root!.updates.at(-1)!.text).toMatch(/^HIGH jti_replay \(resolved\): .*Triage: resolved by bob at .*; verdict benign/);
    for (const update of root!.updates) expect(blockProblem(update.blocks)).toBeUndefined();
    expect(stub.roots()).toHaveLength(1);
  });

  it('rate-limits thread replies of repeats but still updates the root', async () => {
    const first = draft(1);
    await upsertAlerts(clickhouse.client, [first], Date.now());
    await runOnce({ slack: { repeat_reply_interval_seconds: 3600 } });
    for (let i = 1; i <= 3; i++) {
      await upsertAlerts(clickhouse.client, [{ ...first, event_count: 2 + i, last_seen: first.last_seen + i }], Date.now() + i);
      await runOnce({ slack: { repeat_reply_interval_seconds: 3600 } });
    }
    const [root] = stub.roots();
    expect(stub.replies(root!.ts)).toHaveLength(1);
    expect(root!.updates).toHaveLength(3);
  });

  it('sends one digest in a storm, with every alert in its thread; repeats go to that thread', async () => {
    const drafts = Array.from({ length: 8 }, (_, i) => draft(i));
    const { raised } = await upsertAlerts(clickhouse.client, drafts, Date.now());
    await runOnce({ notify: { digest_threshold: 5 } });
    const roots = stub.roots();
    expect(roots).toHaveLength(1);
    expect(roots[0]!.text).toContain('Alert storm: 8 new alerts');
    const details = stub.replies(roots[0]!.ts);
    expect(details.map(metadataId).sort()).toEqual(raised.map((alert) => alert.alert_id).sort());

    await runOnce({ notify: { digest_threshold: 5 } });
    expect(posts(stub)).toHaveLength(9);

    await upsertAlerts(clickhouse.client, [{ ...drafts[3]!, event_count: 7, last_seen: drafts[3]!.last_seen + 5 }], Date.now() + 1);
    await runOnce({ notify: { digest_threshold: 5 } });
    const detail = details.find((message) => metadataId(message) === raised.find((alert) => alert.client_id === 'svc-3')?.alert_id);
    expect(detail!.updates).toHaveLength(1);
    expect(stub.replies(roots[0]!.ts)).toHaveLength(9);
    expect(stub.roots()).toHaveLength(1);
  });

  it('always-on: polls and delivers new alerts until stopped', async () => {
    const service = await startNotifier({ settings: settings(), config: config(), logger, clickhouse: clickhouse.client, registry: new Registry() });
    try {
      await upsertAlerts(clickhouse.client, [draft(1)], Date.now());
      await waitFor(() => stub.roots().length, (roots) => roots > 0, { timeoutMs: 10_000, intervalMs: 50, what: 'the poll loop to post the alert (observed: root messages)' });
      expect(stub.roots()).toHaveLength(1);
    } finally {
      await service.stop();
    }
    await expect(service.done).resolves.toBeUndefined();
  });

  it('honours 429 Retry-After and posts once', async () => {
    await upsertAlerts(clickhouse.client, [draft(1)], Date.now());
    stub.fail('chat.postMessage', { kind: 'ratelimit', retryAfterSeconds: 1 });
    await runOnce();
    const [limited, retried] = posts(stub);
    expect(limited?.fault).toBe('ratelimit');
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(stub.roots()).toHaveLength(1);
    expect(stub.requests.some((request) => request.method === 'conversations.history')).toBe(false);
  });

  it.each([
    ['HTTP 500 (nothing posted)', { kind: 'status', status: 500 } as const, 2],
    ['a dropped connection after Slack stored the message', { kind: 'drop' } as const, 1],
    ['a response slower than the client timeout', { kind: 'delay', ms: 1_500 } as const, 1],
    ['ok:false internal_error', { kind: 'error', error: 'internal_error' } as const, 2],
  ])('after %s it searches the history and ends with exactly one root', async (_name, fault, postAttempts) => {
    await upsertAlerts(clickhouse.client, [draft(1)], Date.now());
    stub.fail('chat.postMessage', fault);
    await runOnce();
    expect(stub.roots()).toHaveLength(1);
    expect(posts(stub)).toHaveLength(postAttempts);
    const history = stub.requests.filter((request) => request.method === 'conversations.history');
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(history[0]!.params.include_all_metadata).toBe('true');
    await runOnce();
    expect(stub.roots()).toHaveLength(1);
  });

  it('posts nothing twice across a crash between the post and recording its ts', async () => {
    await upsertAlerts(clickhouse.client, [draft(1), draft(2)], Date.now());
    // The first process: Slack stores the message but the answer is lost, and the process
    // gives up (as if killed) before it could look.
    stub.fail('chat.postMessage', { kind: 'drop' });
    await expect(runOnce({ slack: { max_attempts: 1 } })).rejects.toBeInstanceOf(DependencyError);
    expect(stub.roots()).toHaveLength(1);
    const intents = (await ledger()).filter((row) => row.step === 'intent');
    expect(intents).toHaveLength(1);

    await runOnce();
    expect(stub.roots()).toHaveLength(2);
    expect(new Set(stub.roots().map(metadataId)).size).toBe(2);
    const found = (await ledger()).find((row) => row.message === 'root' && row.step === 'sent' && row.detail.startsWith('found'));
    expect(found?.ts).toBe(stub.roots()[0]!.ts);
    // The message found was brought up to date with chat.update.
    expect(stub.roots()[0]!.updates).toHaveLength(1);
  });

  it('keeps alerts pending through a Slack outage and delivers each once when it is back', async () => {
    await upsertAlerts(clickhouse.client, [draft(1), draft(2)], Date.now());
    stub.fail('chat.postMessage', { kind: 'status', status: 503 }, 3);
    await expect(runOnce({ slack: { max_attempts: 3 } })).rejects.toThrow(/slack delivery failed/);
    expect(stub.roots()).toHaveLength(0);
    await runOnce();
    expect(stub.roots()).toHaveLength(2);
  });

  it('without the history scope it posts again, marked as a possible duplicate (never lost)', async () => {
    stub.scopes.delete('channels:history');
    await upsertAlerts(clickhouse.client, [draft(1)], Date.now());
    stub.fail('chat.postMessage', { kind: 'drop' });
    await runOnce();
    const roots = stub.roots();
    expect(roots).toHaveLength(2);
    expect(JSON.stringify(roots[1]!.blocks)).toContain(POSSIBLE_DUPLICATE_NOTE);
    expect(logLines.some((line) => line.includes('cannot search the channel'))).toBe(true);
  });

  it('paces messages to about one per interval per channel', async () => {
    await upsertAlerts(clickhouse.client, [draft(1), draft(2), draft(3), draft(4)], Date.now());
    await runOnce({ slack: { min_interval_ms: 300 } });
    const times = posts(stub).map((request) => request.at);
    expect(times).toHaveLength(4);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(280);
  });

  it('routes by severity, finding and tenant, and falls back to SLACK_CHANNEL when a routed channel refuses', async () => {
    const severity = (s: Severity) => s;
    await upsertAlerts(
      clickhouse.client,
      [draft(1), draft(2, { finding: 'mint_volume', severity: severity('critical') }), draft(3, { finding: 'mint_volume', tenant: 'beta' }), draft(4, { finding: 'secret_new_location', severity: 'low' })],
      Date.now(),
    );
    stub.missingChannels.add('C0GONE');
    await runOnce({
      notify: {
        routes: [
          { channel: 'C0CRIT', min_severity: 'critical' },
          { channel: 'C0JTI', findings: ['jti_replay'] },
          { channel: 'C0BETA', tenants: ['beta'] },
          { channel: 'C0GONE', severities: ['low'] },
        ],
      },
    });
    const channelOf = (client: string) => stub.roots().find((message) => message.text.includes(`(${client})`))?.channel;
    expect(channelOf('svc-1')).toBe('C0JTI');
    expect(channelOf('svc-2')).toBe('C0CRIT');
    expect(channelOf('svc-3')).toBe('C0BETA');
    expect(channelOf('svc-4')).toBe(CHANNEL);
    expect(stub.roots()).toHaveLength(4);
  });

  it('refuses to start with a token Slack rejects, in one line that does not contain it', async () => {
    const error = await notifier({ env: { SLACK_BOT_TOKEN: 'xoxb-wrong-token-0000000000' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/^Slack refused auth\.test \(invalid_auth\)/);
    expect(String((error as Error).message)).not.toContain('xoxb-wrong');
  });

  it('reads the token from SLACK_BOT_TOKEN_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-token-'));
    const file = join(dir, 'token');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, `${TOKEN}\n`));
    await upsertAlerts(clickhouse.client, [draft(1)], Date.now());
    await runOnce({ env: { SLACK_BOT_TOKEN: '', SLACK_BOT_TOKEN_FILE: file } });
    expect(stub.roots()).toHaveLength(1);
  });

  it('never puts the token in a request body, a log line or the ledger', async () => {
    // Runs last: it checks what every test above sent and logged.
    const everything = [...allRequests, ...stub.requests];
    expect(everything.length).toBeGreaterThan(50);
    for (const request of everything) {
      expect(request.body).not.toContain(TOKEN);
      expect(request.authorization).toBe(request.authorization === 'Bearer xoxb-wrong-token-0000000000' ? request.authorization : `Bearer ${TOKEN}`);
    }
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.join('\n')).not.toContain('SeCrEtTokenValue');
    expect(logLines.join('\n')).not.toContain('xoxb-wrong');
    const ledgerText = JSON.stringify(await ledger());
    expect(ledgerText).not.toContain('SeCrEtTokenValue');
  });
});

describe('notifier without Slack: terminal, JSON-lines file, webhook; the CLI', () => {
  let clickhouse: ClickHouse | undefined;
  let webhook: Server;
  const received: { body: string; key: string | undefined; authorization: string | undefined }[] = [];
  let failNext = 0;

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(env));
    await migrate(clickhouse.client, { retention_days: 90 });
    await clickhouse.client.command({ query: 'TRUNCATE TABLE alerts' });
    await clickhouse.client.command({ query: 'TRUNCATE TABLE notifications' });
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        if (failNext > 0) {
          failNext--;
          response.writeHead(500).end();
          return;
        }
        received.push({ body, key: request.headers['idempotency-key'] as string | undefined, authorization: request.headers.authorization });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => webhook.close(resolve));
    await clickhouse?.close();
  });

  it('prints alerts on the terminal and appends them to the file and the webhook, once each across restarts', async () => {
    const { client } = clickhouse!;
    const file = join(env.TOKENWATCH_DATA_DIR ?? tmpdir(), 'alerts', 'alerts.jsonl');
    const settings = settingsFrom({
      ...env,
      TOKENWATCH_ALERTS_FILE: file,
      // Credentials in the URL travel as Basic authentication (fetch refuses them in the URL).
      TOKENWATCH_WEBHOOK_URL: `http://alerts:pw-s3cr3t@127.0.0.1:${(webhook.address() as AddressInfo).port}/hook?secret=s3cr3t`,
    });
    const config = parseConfig({ notify: { webhook: { backoff_base_ms: 10, backoff_max_ms: 20 } } }, 'test');
    const run = async () => {
      const output = new PassThrough();
      let printed = '';
      output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
      const service = await startNotifier({ settings, config, logger, clickhouse: client, registry: new Registry(), poll: false, output });
      expect(service.sinks).toEqual(['terminal', 'jsonl', 'webhook']);
      await service.runOnce();
      await service.stop();
      return printed;
    };
    const { raised } = await upsertAlerts(client, [draft(1), draft(2, { finding: 'mint_volume', evidence: sampleEvidence.mint_volume(500, 20) })], Date.now());
    failNext = 1;
    const printed = await run();
    expect(printed).toContain('[HIGH] jti_replay firing: client Service 1 (svc-1), tenant acme');
    expect(printed).toContain('    Observed: 500\n    Baseline median: 20\n');
    expect(printed).toContain(`fingerprint: ${raised[0]!.alert_id}`);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { alert_id: string; investigation_sql: string });
    expect(lines.map((line) => line.alert_id).sort()).toEqual(raised.map((alert) => alert.alert_id).sort());
    expect(lines[0]!.investigation_sql).toContain('FROM token_requests');
    expect(received).toHaveLength(2);
    expect(received[0]!.key).toMatch(/^[0-9a-f]{32}:\d+$/);
    expect(received[0]!.authorization).toBe(`Basic ${Buffer.from('alerts:pw-s3cr3t').toString('base64')}`);

    expect(await run()).toBe('');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(received).toHaveLength(2);

    await upsertAlerts(client, [{ ...draft(1), event_count: 4, last_seen: Date.now() }], Date.now() + 1);
    expect(await run()).toContain('[HIGH] jti_replay firing (repeat)');
    expect(received).toHaveLength(3);

    // On-call's action: the terminal, the file and the webhook say who, when and the verdict.
    const acked = await triageAlert(client, { action: 'ack', alert_id: raised[0]!.alert_id, actor: 'alice', note: 'rotating', verdict: 'true_positive' }, Date.now() + 2);
    const printedAck = await run();
    expect(printedAck).toContain('[HIGH] jti_replay acknowledged: client Service 1 (svc-1), tenant acme');
    expect(printedAck).toContain(`  triage: acknowledged by alice at ${formatTime(acked.triaged_at)}: rotating; verdict true_positive`);
    const last = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({ status: 'acknowledged', triage_action: 'ack', triaged_by: 'alice', triaged_at: new Date(acked.triaged_at).toISOString(), triage_note: 'rotating', verdict: 'true_positive' });
    expect(received).toHaveLength(4);
    expect(logLines.join('\n')).not.toContain('s3cr3t');
  });

  it('`tokenwatch notify --once` delivers what is pending and exits; a refused token exits 1 with one line', async () => {
    const stub = await startSlackStub({ token: TOKEN });
    try {
      await upsertAlerts(clickhouse!.client, [draft(9)], Date.now() + 10);
      // The CLI process needs the embedded data directory to itself.
      await clickhouse!.close();
      clickhouse = undefined;
      const slackEnv = { ...env, SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: CHANNEL, SLACK_API_URL: stub.url };
      const ok = await runCli(['notify', '--once'], slackEnv);
      expect(ok.stderr).not.toContain(TOKEN);
      expect(ok.code).toBe(0);
      // The ledger is per sink: alerts the terminal already showed are still new to Slack.
      expect(stub.roots().length).toBeGreaterThanOrEqual(1);
      expect(stub.roots().some((message) => message.text.includes('(svc-9)'))).toBe(true);
      const again = await runCli(['notify', '--once'], slackEnv);
      expect(again.code).toBe(0);
      expect(stub.roots().filter((message) => message.text.includes('(svc-9)'))).toHaveLength(1);

      const refused = await runCli(['notify', '--once'], { ...slackEnv, SLACK_BOT_TOKEN: 'xoxb-not-the-token-000000' });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toEqual(['tokenwatch: Slack refused auth.test (invalid_auth): check SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, and SLACK_API_URL when set']);
    } finally {
      await stub.close();
    }
  });
});
