import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlertsById, resolveQuietAlerts, upsertAlerts, writeAlerts } from '@tokenwatch/detector/alerts-store';
import { detectorsConfigSchema } from '@tokenwatch/detector/config';
import type { Detector } from '@tokenwatch/detector/detector';
import { backtest } from '@tokenwatch/detector/engine';
import { PRECISION_BY_FINDING, precisionRowSchema } from '@tokenwatch/detector/triage/precision';
import { triageAlert, type TriageRequest } from '@tokenwatch/detector/triage/triage';
import { JTI_REPLAY } from '@tokenwatch/detector/detectors/jti-replay/findings';
import { alertFingerprint, type AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { QueryError } from '@tokenwatch/shared/errors';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, migrate } from '@tokenwatch/shared/storage/migrate';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { sampleDraft } from '../helpers/alerts.js';
import { runCli, spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { createTopic, produce, waitForConsumed } from '../helpers/kafka.js';
import { selectRows } from '../helpers/storage.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// Triage (docs/incident-response.md "Triage"): acknowledge, resolve, suppress, verdict. First
// the store and the engine in this process (one embedded data directory: chDB binds one per
// process), from a database the previous version left; then the CLI as on-call runs it
// against a running `tokenwatch start`, whose /action takes the writes.

type Row = Record<string, unknown>;
const jsonLines = (text: string): Row[] => text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Row);

const NOW = Date.now();

describe('triage in the store and the engine (real chDB)', () => {
  let clickhouse: ClickHouse;
  const env = testEnv('alert-triage');
  const oldTime = toClickHouseTime(NOW - 60_000);
  const oldAlertId = alertFingerprint({ finding: 'jti_replay', tenant: 'acme', client_id: 'svc-old', alert_key: 'jti-old', window_start: 0 });

  const actionCount = async () => Number((await selectRows<{ n: string }>(clickhouse, 'SELECT count() AS n FROM alert_actions'))[0]?.n);
  const alertOf = async (id: string) => (await readAlertsById(clickhouse.client, [id])).get(id)!;
  const store = async (draft: AlertDraft, now: number) => {
    const result = await upsertAlerts(clickhouse.client, [draft], now);
    return [...result.raised, ...result.updated][0]!;
  };

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(env));
    // The database as the previous version left it (up to 0010), holding a firing and a resolved alert.
    await migrate(clickhouse.client, { retention_days: 7_300 }, loadMigrations().filter((migration) => migration.version <= 10));
    const row = (status: string, key: string) => ({
      alert_id: alertFingerprint({ finding: 'jti_replay', tenant: 'acme', client_id: 'svc-old', alert_key: key, window_start: 0 }),
      finding: 'jti_replay', severity: 'high', tenant: 'acme', client_id: 'svc-old', client_name: 'Old', alert_key: key,
      window_start: toClickHouseTime(0), first_seen: oldTime, last_seen: oldTime, event_count: 2, summary: 'old', evidence: '{}',
      event_ids: ['e-1'], status, created_at: oldTime, updated_at: oldTime,
    });
    await clickhouse.client.insert({ table: 'alerts', values: [row('firing', 'jti-old'), row('resolved', 'jti-old-2')], format: 'JSONEachRow' });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('migration 0014 on a database with alerts: new statuses and columns as metadata only (no part rewritten, no mutation), rows kept', async () => {
    const parts = () => selectRows<{ name: string }>(clickhouse, "SELECT name FROM system.parts WHERE database = currentDatabase() AND table = 'alerts' AND active ORDER BY name");
    // (0007's RENAME COLUMN left a finished mutation; 0014 must add none.)
    const mutations = () => selectRows<{ command: string }>(clickhouse, "SELECT command FROM system.mutations WHERE database = currentDatabase() AND table = 'alerts' ORDER BY mutation_id");
    const before = await parts();
    const mutationsBefore = await mutations();
    expect(before.length).toBeGreaterThan(0);
    expect((await migrate(clickhouse.client, { retention_days: 7_300 })).applied).toContain('0014_alert_triage');
    expect(await parts()).toEqual(before);
    expect(await mutations()).toEqual(mutationsBefore);
    const types = new Map(
      (await selectRows<{ name: string; type: string }>(clickhouse, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'alerts'")).map((c) => [c.name, c.type]),
    );
    expect(types.get('status')).toBe("Enum8('firing' = 1, 'resolved' = 2, 'acknowledged' = 3, 'suppressed' = 4)");
    expect(types.get('verdict')).toBe("Enum8('' = 0, 'true_positive' = 1, 'benign' = 2, 'needs_tuning' = 3)");
    expect(await alertOf(oldAlertId)).toMatchObject({ status: 'firing', triage_action: '', triaged_by: '', triaged_at: 0, triage_note: '', verdict: '' });
    // Re-running every statement of the file is harmless (a crash before it was recorded).
    for (const statement of loadMigrations().find((migration) => migration.version === 14)!.statements) await clickhouse.client.command({ query: statement });
    expect(await parts()).toEqual(before);
    // An old alert can be acknowledged like any other.
    expect(await triageAlert(clickhouse.client, { action: 'ack', alert_id: oldAlertId, actor: 'carol' }, NOW)).toMatchObject({ status: 'acknowledged', triaged_by: 'carol' });
  });

  it('ack: the detector re-finding it keeps it acknowledged (and growing); it still resolves when quiet', async () => {
    const draft = sampleDraft(1, { first_seen: NOW - 10 * MINUTE_MS, last_seen: NOW - 9 * MINUTE_MS });
    const raised = await store(draft, NOW);
    const result = await triageAlert(clickhouse.client, { action: 'ack', alert_id: raised.alert_id, actor: 'alice', note: 'rotating the secret' }, NOW + 1);
    expect(result).toMatchObject({ status: 'acknowledged', triage_action: 'ack', triaged_by: 'alice', triaged_at: NOW + 1, triage_note: 'rotating the secret', suppressed_until: null });

    const grown = await store({ ...draft, event_count: 9, last_seen: NOW - 8 * MINUTE_MS }, NOW + 2);
    expect(grown).toMatchObject({ status: 'acknowledged', event_count: 9, triaged_by: 'alice', triage_note: 'rotating the secret' });
    expect(await alertOf(raised.alert_id)).toMatchObject({ status: 'acknowledged', event_count: 9, last_seen: NOW - 8 * MINUTE_MS });

    // Acknowledging twice says who has it already.
    await expect(triageAlert(clickhouse.client, { action: 'ack', alert_id: raised.alert_id, actor: 'bob' }, NOW + 3)).rejects.toThrow(
      `alert ${raised.alert_id} is acknowledged by alice: only a firing alert can be acknowledged`,
    );

    const resolved = await resolveQuietAlerts(clickhouse.client, 'jti_replay', 5 * MINUTE_MS, NOW + 4);
    expect(resolved.map((alert) => alert.alert_id)).toContain(raised.alert_id);
    expect(await alertOf(raised.alert_id)).toMatchObject({ status: 'resolved', triaged_by: 'alice' });
  });

  it('resolve by a human: evidence no newer than the resolution changes nothing; newer evidence fires it again', async () => {
    const draft = sampleDraft(2, { first_seen: NOW - 10 * MINUTE_MS, last_seen: NOW - 9 * MINUTE_MS });
    const raised = await store(draft, NOW);
    await triageAlert(clickhouse.client, { action: 'resolve', alert_id: raised.alert_id, actor: 'bob', note: 'deploy of svc-2', verdict: 'benign' }, NOW + 1);
    expect(await alertOf(raised.alert_id)).toMatchObject({ status: 'resolved', triage_action: 'resolve', verdict: 'benign' });
    await expect(triageAlert(clickhouse.client, { action: 'resolve', alert_id: raised.alert_id, actor: 'bob' }, NOW + 2)).rejects.toThrow(`is already resolved by bob`);

    // The same evidence again (an overlapping tick): still resolved, nothing written.
    expect((await upsertAlerts(clickhouse.client, [draft], NOW + 2)).updated).toEqual([]);
    expect((await alertOf(raised.alert_id)).status).toBe('resolved');

    const again = await store({ ...draft, event_count: 3, last_seen: NOW - MINUTE_MS }, NOW + 3);
    expect(again).toMatchObject({ status: 'firing', event_count: 3, verdict: 'benign', triaged_by: 'bob' });
  });

  it('refuses bad input with a clear error and writes nothing', async () => {
    const raised = await store(sampleDraft(3), NOW);
    const before = await actionCount();
    const version = (await alertOf(raised.alert_id)).updated_at;
    const refused = async (request: Record<string, unknown>, message: string) => {
      const attempt = triageAlert(clickhouse.client, request as TriageRequest, NOW + 1);
      await expect(attempt).rejects.toBeInstanceOf(QueryError);
      await expect(attempt).rejects.toThrow(message);
    };
    await refused({ action: 'ack', alert_id: 'f'.repeat(32), actor: 'a' }, `no alert ${'f'.repeat(32)} (tokenwatch alerts --json lists them with their alert_id)`);
    await refused({ action: 'ack', alert_id: "x' OR 1=1", actor: 'a' }, 'invalid alert_id: expected an alert id: 32 hex digits');
    await refused({ action: 'verdict', alert_id: raised.alert_id, actor: 'a', verdict: 'maybe' }, 'invalid verdict:');
    await refused({ action: 'verdict', alert_id: raised.alert_id, actor: 'a' }, 'invalid verdict:');
    await refused({ action: 'suppress', alert_id: raised.alert_id, actor: 'a', suppress_for_ms: 91 * DAY_MS }, 'invalid suppress_for_ms: a suppression lasts at most 90 days');
    await refused({ action: 'ack', alert_id: raised.alert_id, actor: 'a', note: 'n'.repeat(2_001) }, 'invalid note: is longer than 2,000 characters');
    await refused({ action: 'ack', alert_id: raised.alert_id, actor: 'eve\nbob' }, 'invalid actor: must be one line without control characters');
    await refused({ action: 'ack', alert_id: raised.alert_id, actor: ' ' }, 'invalid actor: is empty');
    await refused({ action: 'ack', alert_id: raised.alert_id, actor: 'a', status: 'resolved' }, 'invalid request');
    expect(await actionCount()).toBe(before);
    expect((await alertOf(raised.alert_id)).updated_at).toBe(version);
  });

  it('suppress: the engine raises nothing of that finding for the client until it expires (backtest), other clients are untouched', async () => {
    const draft = sampleDraft(4, { first_seen: NOW - 2 * HOUR_MS, last_seen: NOW - 2 * HOUR_MS + MINUTE_MS });
    const raised = await store(draft, NOW);
    const result = await triageAlert(clickhouse.client, { action: 'suppress', alert_id: raised.alert_id, actor: 'dave', note: 'pen test this week', suppress_for_ms: HOUR_MS }, NOW);
    expect(result).toMatchObject({ status: 'suppressed', suppressed_until: result.triaged_at + HOUR_MS });
    // A detector that finds the same client (another key too) and another client, before and after the expiry.
    const found = (last_seen: number, client: number, key: string): AlertDraft => sampleDraft(client, { alert_key: key, evidence: sampleDraft(client, { alert_key: key }).evidence, first_seen: last_seen - 1, last_seen });
    const replays: Detector = {
      name: 'replays_for_test',
      findings: [JTI_REPLAY],
      enabled: () => true,
      detect: async () => [found(NOW - MINUTE_MS, 4, 'jti-4'), found(NOW - MINUTE_MS, 4, 'jti-other'), found(NOW - MINUTE_MS, 5, 'jti-5'), found(NOW + 2 * HOUR_MS, 4, 'jti-4')],
    };
    const context = { clickhouse: clickhouse.client, config: detectorsConfigSchema.parse({}), logger: pino({ level: 'silent' }) };
    const alerts = await backtest(context, replays, { from: NOW - HOUR_MS, to: NOW - HOUR_MS + 1 });
    // Before the expiry only svc-5 is raised; after it, svc-4's evidence is raised again.
    expect(alerts.map((alert) => [alert.client_id, alert.alert_key, alert.last_seen])).toEqual([
      ['svc-5', 'jti-5', NOW - MINUTE_MS],
      ['svc-4', 'jti-4', NOW + 2 * HOUR_MS],
    ]);
    const refired = await store(found(NOW + 2 * HOUR_MS, 4, 'jti-4'), NOW + 2);
    expect(refired).toMatchObject({ alert_id: raised.alert_id, status: 'firing' });

    // --only-this-key: other keys of the client still raise.
    const keyed = await store(sampleDraft(6), NOW);
    await triageAlert(clickhouse.client, { action: 'suppress', alert_id: keyed.alert_id, actor: 'dave', suppress_for_ms: HOUR_MS, only_this_key: true }, NOW);
    const keyedFinder: Detector = { ...replays, detect: async () => [found(NOW - MINUTE_MS, 6, 'jti-6'), found(NOW - MINUTE_MS, 6, 'jti-6b')] };
    expect((await backtest(context, keyedFinder, { from: NOW - HOUR_MS, to: NOW - HOUR_MS + 1 })).map((alert) => alert.alert_key)).toEqual(['jti-6b']);
  });

  it('carries a human action forward over a detector write that raced it (two processes on one server)', async () => {
    const draft = sampleDraft(7, { first_seen: NOW - 10 * MINUTE_MS, last_seen: NOW - 9 * MINUTE_MS });
    const raised = await store(draft, NOW);
    await triageAlert(clickhouse.client, { action: 'ack', alert_id: raised.alert_id, actor: 'erin' }, NOW + 1);
    // What another process's detector wrote from a read taken before the action: firing, newer version.
    await writeAlerts(clickhouse.client, [{ ...raised, event_count: 5, updated_at: NOW + 2 }]);
    expect(await alertOf(raised.alert_id)).toMatchObject({ status: 'firing', triaged_by: '' });
    // The next detector write of the alert puts the action back from the audit row.
    const next = await store({ ...draft, event_count: 6, last_seen: NOW - 8 * MINUTE_MS }, NOW + 3);
    expect(next).toMatchObject({ status: 'acknowledged', triaged_by: 'erin', event_count: 6 });
    expect(await alertOf(raised.alert_id)).toMatchObject({ status: 'acknowledged', triaged_by: 'erin' });
  });

  it('keeps every action in the audit with who and when, and counts precision per finding from the verdicts', async () => {
    const audit = await selectRows<{ alert_id: string; action: string; actor: string; verdict: string; suppressed_until: string | null }>(
      clickhouse,
      'SELECT alert_id, action, actor, verdict, suppressed_until FROM alert_actions ORDER BY at, alert_id',
    );
    expect(audit.map((row) => `${row.action} ${row.actor}${row.verdict ? ` ${row.verdict}` : ''}`).sort()).toEqual([
      'ack alice',
      'ack carol',
      'ack erin',
      'resolve bob benign',
      'suppress dave',
      'suppress dave',
    ]);
    expect(audit.filter((row) => row.action === 'suppress').every((row) => row.suppressed_until !== null)).toBe(true);

    const ids = await Promise.all([8, 9, 10].map(async (i) => (await store(sampleDraft(i, { finding: 'mint_volume', alert_key: `burst-${i}` }), NOW)).alert_id));
    await triageAlert(clickhouse.client, { action: 'verdict', alert_id: ids[0]!, actor: 'f', verdict: 'true_positive' }, NOW + 5);
    await triageAlert(clickhouse.client, { action: 'verdict', alert_id: ids[1]!, actor: 'f', verdict: 'needs_tuning' }, NOW + 5);
    const rows = await queryRows(clickhouse.client, PRECISION_BY_FINDING, { since: toClickHouseTime(0) }, precisionRowSchema);
    const byFinding = Object.fromEntries(rows.map((row) => [row.finding, row]));
    expect(byFinding.mint_volume).toEqual({ finding: 'mint_volume', alerts: 3, true_positive: 1, benign: 0, needs_tuning: 1, without_verdict: 1, precision: 0.5 });
    expect(byFinding.jti_replay).toMatchObject({ benign: 1, true_positive: 0, precision: 0 });
  });
});

describe('tokenwatch alerts ack|resolve|suppress|verdict and tokenwatch report against a running tokenwatch start', () => {
  let env: Record<string, string>;
  let service: CliProcess;
  let alertId = '';
  let sent = 0;

  async function cli(args: string[]) {
    const result = await runCli(args, env);
    if (result.code !== 0) throw new Error(`tokenwatch ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result;
  }
  const watched = async () => jsonLines((await cli(['alerts', '--json', '--since', '30d'])).stdout).filter((alert) => alert.finding === 'watched_credential');
  const sqlRows = async (query: string) => jsonLines((await cli(['sql', query])).stdout);

  /** One request of the watched client (tenant-0/client-3, no assertion: no jti finding), consumed. */
  async function request(): Promise<number> {
    sent += 1;
    await produce(env.TOKENWATCH_TOPIC as string, [JSON.stringify(canonicalEvent(3, { event_id: `triage-${sent}`, time: Date.now() }))]);
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
    return Date.now();
  }

  /** Until watched_credential's watermark has passed `at`: every request stored before then was examined. */
  async function examinedAfter(at: number): Promise<void> {
    await waitFor(
      async () => Number((await sqlRows("SELECT toUnixTimestamp64Milli(watermark) AS w FROM detector_watermarks FINAL WHERE detector = 'watched_credential'"))[0]?.w ?? 0),
      (watermark) => watermark > at,
      { timeoutMs: 60_000, intervalMs: 1_000, what: "watched_credential's watermark to pass the request (observed: the watermark)" },
    );
  }

  beforeAll(async () => {
    env = testEnv('triage-cli', { TOKENWATCH_HTTP_PORT: 'off', LOG_LEVEL: 'info', TOKENWATCH_BATCH_MAX_WAIT_MS: '200' });
    // Detectors every second, 1 s behind now (the defaults: every 5 s, 3 s behind), through the
    // service's config file: each wait for the detectors to see a request is then a second or two.
    env.TOKENWATCH_CONFIG = join(env.TOKENWATCH_DATA_DIR as string, 'tokenwatch.yaml');
    writeFileSync(env.TOKENWATCH_CONFIG, 'detectors:\n  schedule: "* * * * * *"\n  safety_lag_seconds: 1\n');
    await createTopic(env.TOKENWATCH_TOPIC as string);
    service = spawnCli(['start'], env);
    await waitFor(() => readDiscovery(env.TOKENWATCH_DATA_DIR as string), (server) => server !== undefined, { timeoutMs: 90_000, what: 'the query server to write its discovery file' });
    await cli(['watch', 'add', '--tenant', 'tenant-0', '--client', 'client-3', '--reason', 'triage test']);
  }, 180_000);

  afterAll(async () => {
    if (service) expect(await terminate(service, 'SIGTERM')).toBe(0);
  });

  it('acknowledges through the running process; alerts --json shows who; the detector re-finding it keeps it acknowledged', async () => {
    await request();
    const [alert] = await waitFor(watched, (rows) => rows.length > 0, { timeoutMs: 60_000, intervalMs: 1_000, what: 'a watched_credential alert (observed: alerts --json)' });
    alertId = String(alert!.alert_id);
    expect(alert).toMatchObject({ status: 'firing', triage_action: '', verdict: '' });

    const ack = await cli(['alerts', 'ack', alertId, '--user', 'alice', '--note', 'rotating the secret']);
    expect(ack.stderr.trim()).toBe(`alice acknowledged watched_credential alert ${alertId} (client client-3 in tenant-0): now acknowledged`);
    expect((await watched())[0]).toMatchObject({ status: 'acknowledged', triage_action: 'ack', triaged_by: 'alice', triage_note: 'rotating the secret', verdict: '' });
    expect((await cli(['alerts', '--since', '30d'])).stdout).toContain('triage: acknowledged by alice at ');

    await request();
    const grown = await waitFor(watched, (rows) => Number(rows[0]?.event_count) === 2, { timeoutMs: 60_000, intervalMs: 1_000, what: 'the alert to count the second request' });
    expect(grown[0]).toMatchObject({ alert_id: alertId, status: 'acknowledged', triaged_by: 'alice' });
  });

  it('refuses an unknown id, a bad verdict, a suppression over 90 days and a malformed id, in one line each, writing nothing', async () => {
    const refused = async (args: string[], line: string | RegExp) => {
      const result = await runCli(args, env);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      if (typeof line === 'string') expect(result.stderr.trim()).toBe(line);
      else expect(result.stderr.trim()).toMatch(line);
    };
    const unknown = 'f'.repeat(32);
    await refused(['alerts', 'resolve', unknown], `tokenwatch: no alert ${unknown} (tokenwatch alerts --json lists them with their alert_id)`);
    await refused(['alerts', 'verdict', alertId, '--verdict', 'maybe'], 'tokenwatch: invalid --verdict "maybe": expected true_positive, benign, needs_tuning');
    await refused(['alerts', 'suppress', alertId, '--for', '100d'], 'tokenwatch: invalid --for "100d": a suppression lasts at most 90d');
    await refused(['alerts', 'suppress', alertId, '--for', 'forever'], 'tokenwatch: invalid --for "forever": expected a duration such as 30s, 15m, 4h, 7d or 2w');
    await refused(['alerts', 'ack', "x' OR 1=1"], /^tokenwatch: invalid --id .*expected an alert id: 32 hex digits/);
    await refused(['alerts', 'ack', alertId], new RegExp(`^tokenwatch: alert ${alertId} is acknowledged by alice: only a firing alert can be acknowledged$`));
    expect(await sqlRows('SELECT action, actor FROM alert_actions')).toEqual([{ action: 'ack', actor: 'alice' }]);
    expect((await watched())[0]).toMatchObject({ status: 'acknowledged', event_count: 2 });
  });

  it('suppress: nothing is raised for the client while it lasts; its first request after the expiry fires the alert again', async () => {
    const suppress = await cli(['alerts', 'suppress', alertId, '--for', '15s', '--user', 'bob', '--note', 'pen test']);
    const until = Date.parse(/until (\S+)$/.exec(suppress.stderr.trim())?.[1] ?? '');
    expect(until).toBeGreaterThan(Date.now());
    expect((await watched())[0]).toMatchObject({ status: 'suppressed', triage_action: 'suppress', triaged_by: 'bob' });

    const during = await request();
    expect(during).toBeLessThan(until);
    await examinedAfter(during);
    expect(await watched()).toEqual([expect.objectContaining({ alert_id: alertId, status: 'suppressed', event_count: 2 })]);

    await waitFor(() => Date.now(), (now) => now > until, { timeoutMs: 30_000, intervalMs: 250, what: 'the suppression to expire' });
    await request();
    const refired = await waitFor(watched, (rows) => rows[0]?.status === 'firing', { timeoutMs: 60_000, intervalMs: 1_000, what: 'the alert to fire again after the expiry' });
    expect(refired).toEqual([expect.objectContaining({ alert_id: alertId, triaged_by: 'bob' })]);
  });

  it('records a verdict; tokenwatch report counts precision per finding; the audit has every action with who and when', async () => {
    const verdict = await cli(['alerts', 'verdict', alertId, '--verdict', 'true_positive', '--user', 'carol']);
    expect(verdict.stderr).toContain('now firing; verdict true_positive');
    const report = jsonLines((await cli(['report', '--json'])).stdout);
    expect(report.find((row) => row.finding === 'watched_credential')).toEqual({
      finding: 'watched_credential', alerts: 1, true_positive: 1, benign: 0, needs_tuning: 0, without_verdict: 0, precision: 1,
    });
    const table = (await cli(['report'])).stdout.split('\n');
    expect(table[0]).toMatch(/^finding\s+alerts\s+precision\s+true_positive\s+benign\s+needs_tuning\s+without_verdict$/);
    expect(table.find((line) => line.startsWith('watched_credential'))).toMatch(/^watched_credential\s+1\s+100\.0%\s+1\s+0\s+0\s+0$/);

    const audit = await sqlRows('SELECT action, actor, note, verdict, toBool(isNotNull(suppressed_until)) AS suppresses, at FROM alert_actions ORDER BY at');
    expect(audit).toEqual([
      expect.objectContaining({ action: 'ack', actor: 'alice', note: 'rotating the secret', verdict: '', suppresses: false }),
      expect.objectContaining({ action: 'suppress', actor: 'bob', note: 'pen test', verdict: '', suppresses: true }),
      expect.objectContaining({ action: 'verdict', actor: 'carol', note: '', verdict: 'true_positive', suppresses: false }),
    ]);
    expect(new Set(audit.map((row) => row.at)).size).toBe(3);
  });
});
