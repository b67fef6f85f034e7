import { PassThrough, Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlertsById, readAlertsUpdatedSince, upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { FINDINGS } from '@tokenwatch/detector/findings';
import { startNotifier } from '@tokenwatch/notifier';
import { parseConfig } from '@tokenwatch/server/config-file';
import { alertFingerprint, type AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, migrate } from '@tokenwatch/shared/storage/migrate';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { sampleEvidence } from '../helpers/alerts.js';
import { selectRows } from '../helpers/storage.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Migration 0007 on a database that already holds alerts under the old `detector` column, and
// alert rows that no finding of this version describes (a retired finding, evidence written
// by another version): read back, shown and delivered with the reason, never a crash.

const NOW = Date.now();
const env = testEnv('alert-findings');

/** An alerts row as a version before 0007 wrote it. */
function oldRow(detector: string, key: string, evidence: unknown) {
  const time = toClickHouseTime(NOW - 60_000);
  return {
    alert_id: alertFingerprint({ finding: detector, tenant: 'acme', client_id: 'svc-a', alert_key: key, window_start: 0 }),
    detector,
    severity: 'high',
    tenant: 'acme',
    client_id: 'svc-a',
    client_name: 'Service A',
    alert_key: key,
    window_start: toClickHouseTime(0),
    first_seen: time,
    last_seen: time,
    event_count: 2,
    summary: `${detector} on svc-a`,
    evidence: JSON.stringify(evidence),
    event_ids: ['e-1', 'e-2'],
    status: 'firing',
    created_at: time,
    updated_at: time,
  };
}

describe('alerts name their finding (migration 0007 and rows read back)', () => {
  let clickhouse: ClickHouse;
  const replay = oldRow('jti_replay', 'jti-1', sampleEvidence.jti_replay('jti-1'));
  const retired = oldRow('token_exfiltration', 'tok-1', { token_hash: 'sha256:ab12', sightings: 3 });
  const broken = oldRow('mint_volume', 'mint_volume', { observed: 500, baseline_median: 20 });

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(env));
    // The database as the previous version left it: migrations up to 0006, alerts stored.
    await migrate(clickhouse.client, { retention_days: 7_300 }, loadMigrations().filter((migration) => migration.version <= 6));
    await clickhouse.client.insert({ table: 'alerts', values: [replay, retired, broken], format: 'JSONEachRow' });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('renames the column on an existing database, keeping every row, and re-running the statement is harmless', async () => {
    expect(await migrate(clickhouse.client, { retention_days: 7_300 })).toEqual({ applied: ['0007_alert_finding', '0008_assertion_unverified', '0009_watch_list', '0010_alert_ownership', '0011_client_traits', '0012_credential_rollups', '0013_client_asn_slots', '0014_alert_triage', '0015_direct_insert', '0016_jti_use_hours', '0017_rollups_at_tick', '0018_vertical_merges', '0019_merge_blocks'] });
    const columns = await selectRows<{ name: string }>(clickhouse, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'alerts'");
    expect(columns.map((column) => column.name)).toContain('finding');
    expect(columns.map((column) => column.name)).not.toContain('detector');
    const [migration] = loadMigrations().filter((candidate) => candidate.version === 7);
    for (const statement of migration!.statements) await clickhouse.client.command({ query: statement });
    const rows = await selectRows<{ finding: string }>(clickhouse, 'SELECT finding FROM alerts FINAL ORDER BY finding');
    expect(rows.map((row) => row.finding)).toEqual(['jti_replay', 'mint_volume', 'token_exfiltration']);
  });

  it('finds the stored alert again by its fingerprint: the same finding updates it, not a second alert', async () => {
    const stored = await readAlertsById(clickhouse.client, [replay.alert_id]);
    expect(stored.get(replay.alert_id)).toMatchObject({ finding: 'jti_replay', alert_key: 'jti-1', event_count: 2 });
    const again: AlertDraft = {
      finding: 'jti_replay',
      severity: 'high',
      tenant: 'acme',
      client_id: 'svc-a',
      client_name: 'Service A',
      alert_key: 'jti-1',
      window_start: 0,
      first_seen: NOW - 60_000,
      last_seen: NOW - 30_000,
      event_count: 3,
      summary: 'jti-1 used 3 times',
      evidence: sampleEvidence.jti_replay('jti-1'),
      event_ids: ['e-1', 'e-2', 'e-3'],
    };
    const result = await upsertAlerts(clickhouse.client, [again], NOW);
    expect(result.raised).toEqual([]);
    expect(result.updated.map((alert) => alert.alert_id)).toEqual([replay.alert_id]);
  });

  it('reads back rows of an unknown finding or with evidence its schema refuses, and says what is wrong', async () => {
    const alerts = await readAlertsUpdatedSince(clickhouse.client, 0);
    expect(alerts.map((alert) => alert.finding).sort()).toEqual(['jti_replay', 'mint_volume', 'token_exfiltration']);
    // Rows stored before 0010 and not rewritten since have no owner and no detector severity (no raise happened).
    for (const alert of alerts.filter((stored) => stored.finding !== 'jti_replay')) {
      expect(alert).toMatchObject({ owner: '', team: '', slack_channel: '', criticality: '', detector_severity: '' });
    }
    const problems = Object.fromEntries(alerts.map((alert) => {
      const read = FINDINGS.read(alert);
      return [alert.finding, read.ok ? 'ok' : read.problem];
    }));
    expect(problems).toEqual({
      jti_replay: 'ok',
      token_exfiltration: expect.stringMatching(/^unknown finding "token_exfiltration" \(known: watched_credential, jti_replay, /),
      mint_volume: expect.stringMatching(/^mint_volume evidence does not match its schema at baseline_mad: Invalid input: expected number, received undefined/),
    });
  });

  it('delivers every alert, the unreadable ones with the reason in the message and the log', async () => {
    const logLines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, callback) => (logLines.push(chunk.toString('utf8')), callback()) }));
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const service = await startNotifier({ settings: settingsFrom(env), config: parseConfig({}, 'test'), logger, clickhouse: clickhouse.client, registry: new Registry(), poll: false, output });
    await service.runOnce();
    await service.stop();
    expect(printed).toContain('[HIGH] jti_replay firing');
    expect(printed).toContain('[HIGH] token_exfiltration firing');
    expect(printed).toContain(':warning: unknown finding "token_exfiltration"');
    expect(printed).toContain('    token hash: sha256:ab12');
    expect(printed).toContain('[HIGH] mint_volume firing');
    expect(printed).toContain(':warning: mint_volume evidence does not match its schema at baseline_mad');
    expect(printed).toContain('    baseline median: 20');
    const warnings = logLines.map((line) => JSON.parse(line) as { msg: string; finding?: string });
    expect(warnings.filter((line) => line.msg.startsWith('alert evidence not readable')).map((line) => line.finding).sort()).toEqual(['mint_volume', 'token_exfiltration']);
  });
});
