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
