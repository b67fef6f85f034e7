import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCanonical } from '@tokenwatch/shared/ingest/decode';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { findStoredEventIds, insertTokenRequests, toRow, type TokenRequestRow } from '@tokenwatch/shared/storage/token-requests';
import { runCli } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// One embedded data directory for the whole file (chDB allows one per process). The restart
// check at the end closes the in-process client and reads the directory from a CLI subprocess.

function row(i: number, overrides: Parameters<typeof canonicalEvent>[1] = {}): TokenRequestRow {
  const result = decodeCanonical(JSON.stringify(canonicalEvent(i, overrides)));
  if (result.kind !== 'ok') throw new Error(`canonicalEvent(${i}) did not decode: ${result.reason}`);
  return toRow(result.event);
}

describe('ClickHouse storage (embedded chDB)', () => {
  const env = testEnv('storage');
  const settings = settingsFrom(env);
  let clickhouse: ClickHouse;

  async function select<T>(query: string): Promise<T[]> {
    const result = await clickhouse.client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }
  const count = async (query: string) => Number((await select<{ n: string }>(query.replace(/^SELECT count\(\)/, 'SELECT count() AS n')))[0]?.n);
  const ttlDays = async () => {
    const [table] = await select<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'token_requests'",
    );
    return table?.engine_full.match(/TTL .*?toIntervalDay\((?:_CAST\()?(\d+)/)?.[1];
  };

  beforeAll(async () => {
    clickhouse = await openClickHouse(settings);
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('opens the embedded engine inside TOKENWATCH_DATA_DIR', () => {
    expect(clickhouse.mode).toBe('embedded');
    expect(clickhouse.dataDir).toBe(env.TOKENWATCH_DATA_DIR);
  });

  it('migrates once; a second run applies nothing and records nothing twice', async () => {
    expect(await migrate(clickhouse.client, { retention_days: 90 })).toEqual({ applied: ['0001_token_requests'] });
    expect(await migrate(clickhouse.client, { retention_days: 90 })).toEqual({ applied: [] });
    const versions = await select<{ version: number; name: string; n: string }>(
      'SELECT version, any(name) AS name, count() AS n FROM schema_migrations GROUP BY version ORDER BY version',
    );
    expect(versions.map((v) => ({ version: Number(v.version), name: v.name, n: Number(v.n) }))).toEqual([
      { version: 1, name: '0001_token_requests', n: 1 },
    ]);
  });

  it('creates token_requests with the contract columns and types', async () => {
    const columns = await select<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'token_requests' ORDER BY position",
    );
    const types = new Map(columns.map((c) => [c.name, c.type]));
    const contract = [
      'event_id', 'time', 'idp', 'tenant', 'client_id', 'client_name', 'grant_type', 'auth_method', 'credential_id',
      'outcome', 'error_code', 'source_ip', 'user_agent', 'scopes', 'audience', 'assertion_jti', 'assertion_iat',
      'assertion_exp', 'assertion_kid', 'replay_reported', 'country', 'asn', 'as_org', 'ingested_at',
    ];
    expect([...types.keys()]).toEqual(expect.arrayContaining(contract));
    expect(types.get('source_ip')).toBe('IPv6');
    expect(types.get('time')).toBe("DateTime64(3, 'UTC')");
    expect(types.get('ingested_at')).toBe("DateTime64(3, 'UTC')");
    expect(types.get('outcome')).toBe("Enum8('success' = 1, 'failure' = 2)");
    expect(types.get('scopes')).toBe('Array(LowCardinality(String))');
    expect(types.get('assertion_iat')).toBe("Nullable(DateTime('UTC'))");
    expect(types.get('replay_reported')).toBe('Bool');
    // Every field toRow produces has a column, so an insert never drops one silently.
    for (const field of Object.keys(row(1))) expect(types.has(field), `column ${field}`).toBe(true);
  });

  it('applies TOKENWATCH_RETENTION_DAYS as the table TTL, and changes it when the setting changes', async () => {
    expect(await ttlDays()).toBe('90');
    expect(await migrate(clickhouse.client, { retention_days: 30 })).toEqual({ applied: [] });
    expect(await ttlDays()).toBe('30');
    await migrate(clickhouse.client, { retention_days: 90 });
    expect(await ttlDays()).toBe('90');
  });

  it('stores rows as sent: IPv4-mapped addresses, UTC times, arrays, nullable claims', async () => {
    const rows = [row(1), row(3), row(4)];
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'roundtrip-1' });
    const stored = await select<Record<string, unknown>>(
      `SELECT event_id, toString(time) AS time, toString(source_ip) AS ip, scopes, outcome, assertion_jti,
              toUnixTimestamp(assertion_iat) AS iat, assertion_iat IS NULL AS iat_null, country, asn, replay_reported
       FROM token_requests FINAL WHERE event_id IN ('evt-1', 'evt-3', 'evt-4') ORDER BY event_id`,
    );
    expect(stored).toHaveLength(3);
    expect(stored[0]).toMatchObject({
      event_id: 'evt-1',
      time: rows[0]?.time,
      ip: '::ffff:198.51.100.1',
      scopes: ['orders.read', 'orders.write'],
      outcome: 'success',
      assertion_jti: 'jti-1',
      iat: 1_764_244_801,
      country: 'DE',
      asn: 3320,
      replay_reported: false,
    });
    expect(stored[0]?.time).toBe('2026-11-27 12:00:00.010');
    // canonicalEvent(3) authenticates with a secret: no assertion claims.
    expect(stored[1]).toMatchObject({ event_id: 'evt-3', assertion_jti: '', iat_null: 1 });
    expect(stored[2]).toMatchObject({ event_id: 'evt-4', ip: '2001:db8::4' });
  });

  it('drops a retried insert with the same dedup token', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(100 + i));
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p0:100-149' });
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p0:100-149' });
    // Not FINAL: the second block must never have been written at all.
    expect(await count("SELECT count() FROM token_requests WHERE event_id LIKE 'evt-1__'")).toBe(50);
  });

  it('drops any block whose dedup token was used before, whatever its rows (the token alone decides)', async () => {
    await insertTokenRequests(clickhouse.client, [row(150)], { dedupToken: 'batch:p9:150' });
    await insertTokenRequests(clickhouse.client, [row(151)], { dedupToken: 'batch:p9:150' });
    expect(await count("SELECT count() FROM token_requests WHERE event_id IN ('evt-150', 'evt-151')")).toBe(1);
    expect(await count("SELECT count() FROM token_requests WHERE event_id = 'evt-151'")).toBe(0);
  });

  it('collapses a block re-sent under a different dedup token with FINAL', async () => {
    const rows = [row(200), row(201)];
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p1:200-201' });
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p1:200-201-from-another-worker' });
    expect(await count("SELECT count() FROM token_requests FINAL WHERE event_id IN ('evt-200', 'evt-201')")).toBe(2);
  });

  it('counts an event re-sent in a different block once with FINAL and with uniqExact', async () => {
    await insertTokenRequests(clickhouse.client, [row(300), row(301)], { dedupToken: 'batch:p2:300-301' });
    await insertTokenRequests(clickhouse.client, [row(301), row(302)], { dedupToken: 'batch:p3:7-8' });
    expect(await count("SELECT count() FROM token_requests FINAL WHERE event_id IN ('evt-300', 'evt-301', 'evt-302')")).toBe(3);
    const [unique] = await select<{ n: string }>("SELECT uniqExact(event_id) AS n FROM token_requests WHERE event_id LIKE 'evt-30_'");
    expect(Number(unique?.n)).toBe(3);
  });

  it('finds which event ids are stored already', async () => {
    const stored = await findStoredEventIds(clickhouse.client, ['evt-300', 'evt-301', 'evt-999999', "it's-not-there"]);
    expect([...stored].sort()).toEqual(['evt-300', 'evt-301']);
    expect(await findStoredEventIds(clickhouse.client, [])).toEqual(new Set());
  });

  it('does nothing for an empty insert', async () => {
    const before = await count('SELECT count() FROM token_requests');
    await insertTokenRequests(clickhouse.client, [], { dedupToken: 'empty' });
    expect(await count('SELECT count() FROM token_requests')).toBe(before);
  });

  it('keeps the data after the engine is closed and the directory reopened by another process', async () => {
    const expected = await count('SELECT count() FROM token_requests FINAL');
    expect(expected).toBe(3 + 50 + 1 + 2 + 3);
    await clickhouse.close();
    const result = await runCli(['sql', 'SELECT count() AS n FROM token_requests FINAL'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Number(JSON.parse(result.stdout.trim()).n)).toBe(expected);
    // And the schema is not migrated again by the reader.
    const migrations = await runCli(['sql', 'SELECT count() AS n FROM schema_migrations'], env);
    expect(migrations.code).toBe(0);
    expect(Number(JSON.parse(migrations.stdout.trim()).n)).toBe(1);
  });
});
