import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { createLogger } from '@tokenwatch/shared/log';
import { loadMigrations } from '@tokenwatch/shared/storage/migrate';
import { refreshRollups, rollupWatermark, ROLLUP_TABLES } from '@tokenwatch/shared/storage/rollups/refresh';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { assertionRequest, canonicalEvent } from '../helpers/events.js';
import { openTestStorage, refreshTestRollups, selectRows, storeEvents } from '../helpers/storage.js';

/**
 * The rollups are rolled up at the detector's tick (shared/src/storage/rollups/refresh.ts), not
 * by views on insert (migration 0017). Checked against the views themselves: each rollup has a
 * twin table `expected_<rollup>` fed by its old view, created here from the migration files'
 * own CREATE MATERIALIZED VIEW statements, so the refresh must produce exactly what the views did
 * (a) - once per window even when a window is re-run after a crash (b) - in bounded windows (c) -
 * and the detectors find what they found before through runTick (d) - and at most maxWindows
 * windows per call, saying `behind` until repeated calls have caught up (e).
 */

const BASE = Date.UTC(2026, 10, 20, 0, 0, 0);

/** The old views, as the migrations created them, retargeted at the twin tables. */
function viewsIntoTwins(): string[] {
  return loadMigrations().flatMap((migration) =>
    migration.statements.flatMap((statement) => {
      const view = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)_mv TO (\w+) SQL SECURITY DEFINER AS/.exec(statement);
      const table = view?.[2];
      if (!table || !ROLLUP_TABLES.includes(table)) return [];
      return [`CREATE TABLE expected_${table} AS ${table}`, statement.replace(`${table}_mv TO ${table} `, `expected_${table}_mv TO expected_${table} `)];
    }),
  );
}

/**
 * Varied traffic: days, networks (v4 and v6), ASNs, credentials and kids, failures, reused jtis,
 * scopes, user agents. What an anyLast or a capped groupUniqArray keeps depends on the order
 * rows are merged in, for views and refresh alike, so within one rollup row those values are the
 * same (one user agent, address pair and auth method per client, one country per ASN).
 */
function traffic(from: number, count: number): TokenRequestInput[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    const client = i % 40;
    const asn = 64_500 + (i % 9);
    return canonicalEvent(i, {
      event_id: `rollup-${i}`,
      time: BASE + ((i * 7_919) % (5 * DAY_MS / 1000)) * 1000,
      client_id: `client-${client}`,
      client_name: `service ${client}`,
      user_agent: `svc-${client % 5}/1.${client % 3} okhttp/4.12.0`,
      auth_method: 'private_key_jwt',
      source_ip: i % 4 === 0 ? `2001:db8::${client.toString(16)}` : `198.51.100.${client}`,
      ...(i % 5 === 0 ? { credential_id: `cred-${client % 3}` } : {}),
      ...(i % 3 !== 0 ? { assertion: { jti: `jti-${i % 700}`, iat: Math.floor(BASE / 1000) + i, exp: Math.floor(BASE / 1000) + i + 300, kid: `kid-${i % 2}`, alg: 'RS256' } } : {}),
      geo: { country: ['DE', 'US', 'FR'][i % 3] ?? 'DE', asn, as_org: `AS ${asn}` },
    });
  });
}

/** A rollup's content, merged and finalised, in a comparable text form. */
async function content(clickhouse: ClickHouse, table: string): Promise<string[]> {
  const columns = await selectRows<{ name: string; type: string }>(
    clickhouse,
    'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position',
    { table },
  );
  const select = columns.map(({ name, type }) => {
    if (type.startsWith('AggregateFunction(groupUniqArray')) return `arraySort(finalizeAggregation(${name}))`;
    if (type.startsWith('AggregateFunction(')) return `finalizeAggregation(${name})`;
    if (type.includes('groupUniqArray')) return `arraySort(${name})`;
    return name;
  });
  // Table names come from ROLLUP_TABLES (constants), never from input.
  const rows = await selectRows<Record<string, unknown>>(clickhouse, `SELECT ${select.join(', ')} FROM ${table} FINAL ORDER BY ALL`);
  return rows.map((row) => JSON.stringify(Object.values(row)));
}

async function expectRollupsAsViews(clickhouse: ClickHouse): Promise<void> {
  for (const table of ROLLUP_TABLES) {
    const [actual, expected] = [await content(clickhouse, table), await content(clickhouse, `expected_${table}`)];
    expect(expected.length, table).toBeGreaterThan(0);
    expect(actual, table).toEqual(expected);
  }
}

describe('rollups rolled up at the tick (real chDB)', () => {
  let clickhouse: ClickHouse;

  beforeAll(async () => {
    clickhouse = await openTestStorage('rollups-refresh');
    for (const statement of viewsIntoTwins()) await clickhouse.client.command({ query: statement });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('creates a twin for every rollup (else the comparisons below would compare nothing)', async () => {
    const twins = await selectRows<{ name: string }>(clickhouse, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'expected\\_%\\_mv'");
    expect(twins.map((twin) => twin.name).sort()).toEqual(ROLLUP_TABLES.map((table) => `expected_${table}_mv`).sort());
  });

  it('(a) rolls up exactly what the views wrote, over several inserts', async () => {
    for (let batch = 0; batch < 4; batch += 1) await storeEvents(clickhouse, traffic(batch * 500, 500), { rollUp: false });
    const { windows } = await refreshRollups(clickhouse.client, { until: Date.now() });
    expect(windows).toBe(1);
    await expectRollupsAsViews(clickhouse);
  });

  it('(b) a window re-run after a crash (pending recorded, inserts done, watermark not moved) counts once', async () => {
    const before = await rollupWatermark(clickhouse.client);
    await storeEvents(clickhouse, traffic(2_000, 700), { rollUp: false });
    const first = await refreshRollups(clickhouse.client, { until: Date.now() });
    expect(first.windows).toBe(1);
    // The crash: every insert landed, the watermark is where it was; 'rollups:pending' says the window.
    await clickhouse.client.command({
      query: "INSERT INTO detector_watermarks (detector, watermark, updated_at) VALUES ('rollups', fromUnixTimestamp64Milli({ms:Int64}, 'UTC'), now64(3))",
      query_params: { ms: before },
    });
    expect(await rollupWatermark(clickhouse.client)).toBe(before);
    const retry = await refreshRollups(clickhouse.client, { until: Date.now() });
    // The pending window, and perhaps an empty one up to the later `until`.
    expect(retry.windows).toBeGreaterThanOrEqual(1);
    expect(await rollupWatermark(clickhouse.client)).toBeGreaterThanOrEqual(first.watermark);
    await expectRollupsAsViews(clickhouse);
    const [sum] = await selectRows<{ requests: string }>(clickhouse, 'SELECT sum(requests) AS requests FROM client_locations');
    expect(Number(sum?.requests)).toBe(2_700);
  });

  it('(c) rolls a backlog larger than the bound up in several bounded windows, totals right, two callers at once', async () => {
    for (let batch = 0; batch < 6; batch += 1) await storeEvents(clickhouse, traffic(2_700 + batch * 250, 250), { rollUp: false });
    // Two callers at once with different ends (a tick and a backtest): the second must start
    // where the first stopped, or both would roll up the last window under different tokens.
    const until = Date.now();
    const [first, second] = await Promise.all([
      refreshRollups(clickhouse.client, { until, maxWindowEvents: 500 }),
      refreshRollups(clickhouse.client, { until: until + 1, maxWindowEvents: 500 }),
    ]);
    expect(first.windows).toBeGreaterThanOrEqual(3);
    expect(second.windows).toBe(0);
    await expectRollupsAsViews(clickhouse);
    const [sum] = await selectRows<{ requests: string }>(clickhouse, 'SELECT sum(requests) AS requests FROM client_locations');
    expect(Number(sum?.requests)).toBe(4_200);
  });

  it('(d) runTick rolls up before it examines: a replay whose first use arrived a tick earlier is found', async () => {
    const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger: createLogger('silent') };
    const now = Date.now();
    const first = assertionRequest('replay-a', 'svc-billing', 'jti-replayed', now - 10 * MINUTE_MS);
    await storeEvents(clickhouse, [first], { rollUp: false });
    // The traffic above reuses jtis too; only this one matters here.
    const about = (alerts: readonly StoredAlert[]) => alerts.filter((alert) => alert.alert_key === 'jti-replayed');
    expect(about((await runTick(context, jtiReplay, Date.now())).raised)).toEqual([]);
    // The first use is in the rollup only because the tick rolled it up.
    const [hour] = await selectRows<{ uses: string }>(clickhouse, "SELECT uniqMerge(uses) AS uses FROM jti_use_hours WHERE assertion_jti = 'jti-replayed'");
    expect(Number(hour?.uses)).toBe(1);
    await storeEvents(clickhouse, [assertionRequest('replay-b', 'svc-billing', 'jti-replayed', now - 9 * MINUTE_MS, { source_ip: '203.0.113.9' })], { rollUp: false });
    const { raised } = await runTick(context, jtiReplay, Date.now());
    expect(about(raised).map((alert) => [alert.finding, alert.alert_key])).toEqual([['jti_replay', 'jti-replayed']]);
    expect([...(about(raised)[0]?.event_ids ?? [])].sort()).toEqual(['replay-a', 'replay-b']);
  });
  it('(e) rolls up at most maxWindows windows per call, says behind, and catches up over calls with the views\' totals', async () => {
    await refreshTestRollups(clickhouse);
    for (let batch = 0; batch < 6; batch += 1) await storeEvents(clickhouse, traffic(4_200 + batch * 250, 250), { rollUp: false });
    const until = Date.now();
    // 1,500 arrivals in windows of 500: three windows, one per call.
    const calls = [await refreshRollups(clickhouse.client, { until, maxWindowEvents: 500, maxWindows: 1 })];
    expect(calls[0]).toMatchObject({ windows: 1, behind: true });
    expect(calls[0]?.watermark).toBeLessThan(until);
    expect(await rollupWatermark(clickhouse.client)).toBe(calls[0]?.watermark);
    while (calls.at(-1)?.behind) {
      expect(calls.length, 'calls needed to catch up').toBeLessThan(10);
      calls.push(await refreshRollups(clickhouse.client, { until, maxWindowEvents: 500, maxWindows: 1 }));
    }
    expect(calls.map((call) => call.windows)).toEqual([1, 1, 1]);
    expect(calls.at(-1)?.watermark).toBe(until);
    await expectRollupsAsViews(clickhouse);
    const [sum] = await selectRows<{ requests: string }>(clickhouse, 'SELECT sum(requests) AS requests FROM client_locations');
    const [stored] = await selectRows<{ requests: string }>(clickhouse, 'SELECT count() AS requests FROM token_requests');
    expect(Number(sum?.requests)).toBe(Number(stored?.requests));
    // Caught up, a bounded call over nothing new is not behind (the service would tick again for nothing).
    expect(await refreshRollups(clickhouse.client, { until: Date.now(), maxWindowEvents: 500, maxWindows: 1 })).toMatchObject({ windows: 0, behind: false });
  });
});
