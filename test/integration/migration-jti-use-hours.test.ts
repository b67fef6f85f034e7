import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, migrate } from '@tokenwatch/shared/storage/migrate';
import { HOUR_MS } from '@tokenwatch/shared/time';
import { assertionRequest as use } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { selectRows, storeEvents, TEST_RETENTION_DAYS } from '../helpers/storage.js';

/**
 * Migration 0016 on a database that already holds requests: jti_use_hours is back-filled from
 * them, so a replay whose first use was stored before the upgrade is still found, and
 * jti_uses_mv is dropped, so ingestion feeds one jti rollup, not two.
 */

const NOON = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('migration 0016: jti_use_hours (real chDB)', () => {
  let clickhouse: ClickHouse;
  let raised: StoredAlert[];
  const count = async (table: string) => Number((await selectRows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${table}`))[0]?.n);

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(testEnv('migration-jti-use-hours')));
    // The database as the previous version left it, with two requests stored.
    await migrate(clickhouse.client, { retention_days: TEST_RETENTION_DAYS }, loadMigrations().filter((migration) => migration.version <= 15));
    // Fed by the views of that version (the refresh of 0017 does not exist yet).
    await storeEvents(clickhouse, [use('before-a', 'svc-orders', 'jti-upgraded', NOON - HOUR_MS), use('before-other', 'svc-orders', 'jti-once', NOON - 2 * HOUR_MS)], { rollUp: false });
    expect(await migrate(clickhouse.client, { retention_days: TEST_RETENTION_DAYS })).toEqual({ applied: ['0016_jti_use_hours', '0017_rollups_at_tick', '0018_vertical_merges', '0019_merge_blocks'] });
    await storeEvents(clickhouse, [use('after-b', 'svc-orders', 'jti-upgraded', NOON - HOUR_MS + 30_000)]);
    const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger: createLogger('silent') };
    raised = [...(await runTick(context, jtiReplay, Date.now())).raised];
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('back-fills one row per tenant, hour and jti from the requests stored before it, and keeps feeding it', async () => {
    const rows = await selectRows<{ hour: string; jti: string; uses: string }>(
      clickhouse,
      'SELECT toString(hour) AS hour, assertion_jti AS jti, uniqMerge(uses) AS uses FROM jti_use_hours GROUP BY hour, jti ORDER BY hour',
    );
    expect(rows.map((row) => [row.hour, row.jti, Number(row.uses)])).toEqual([
      ['2026-11-25 10:00:00', 'jti-once', 1],
      ['2026-11-25 11:00:00', 'jti-upgraded', 2],
    ]);
  });

  it('drops jti_uses_mv: jti_uses keeps what it had and is fed no more', async () => {
    const views = await selectRows<{ name: string }>(clickhouse, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'jti%_mv'");
    // 0017 dropped jti_use_hours_mv too: the detector's tick rolls it up (rollups-refresh.test.ts).
    expect(views.map((view) => view.name)).toEqual([]);
    expect(await count('jti_uses')).toBe(2);
  });

  it('finds the replay whose first use was stored before the upgrade', () => {
    expect(raised.map((alert) => [alert.finding, alert.alert_key])).toEqual([['jti_replay', 'jti-upgraded']]);
    expect(raised[0]?.event_ids.sort()).toEqual(['after-b', 'before-a']);
  });
});
