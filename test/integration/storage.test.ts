import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOne } from '../helpers/decode.js';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, migrate } from '@tokenwatch/shared/storage/migrate';
import { findStoredEventIds, insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { runCli } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// One embedded data directory for the whole file (chDB allows one per process), migrated once
// before the tests. Each test stores and reads its own event ids and leaves the schema and its
// retention as it found them, so any one of them can run alone or in any order. The restart
// check closes the in-process client, reads the directory from a CLI subprocess, and reopens.

/** An event as storage takes it: the row line decodeCanonical forwards. */
function line(input: object): string {
  const result = decodeOne(JSON.stringify(input));
  if (result.kind !== 'ok') throw new Error(`${JSON.stringify(input)} did not decode: ${result.reason}`);
  return result.line;
}
const row = (i: number, overrides: Parameters<typeof canonicalEvent>[1] = {}) => line(canonicalEvent(i, overrides));

describe('ClickHouse storage (embedded chDB)', () => {
  const env = testEnv('storage');
  const settings = settingsFrom(env);
  let clickhouse: ClickHouse;
  /** What the first migration of the fresh directory applied. */
  let firstMigration: { applied: string[] };
  /** Long retention: the events below are dated months ago, and a TTL merge could drop them. */
  const RETENTION_DAYS = 7_300;

  async function select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }
  const count = async (query: string, params: Record<string, unknown> = {}) =>
    Number((await select<{ n: string }>(query.replace(/^SELECT count\(\)/, 'SELECT count() AS n'), params))[0]?.n);
  const ids = (numbers: readonly number[]) => ({ ids: numbers.map((i) => `evt-${i}`) });
  const ttlDays = async () => {
    const [table] = await select<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'token_requests'",
    );
    return table?.engine_full.match(/TTL .*?toIntervalDay\((?:_CAST\()?(\d+)/)?.[1];
  };

  beforeAll(async () => {
    clickhouse = await openClickHouse(settings);
    firstMigration = await migrate(clickhouse.client, { retention_days: RETENTION_DAYS });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('opens the embedded engine inside TOKENWATCH_DATA_DIR', () => {
    expect(clickhouse.mode).toBe('embedded');
    expect(clickhouse.dataDir).toBe(env.TOKENWATCH_DATA_DIR);
  });

  it('migrates once; a second run applies nothing and records nothing twice', async () => {
    expect(firstMigration).toEqual({
      applied: ['0001_token_requests', '0002_token_requests_input', '0003_alerts', '0004_rollups', '0005_notifications', '0006_view_security', '0007_alert_finding', '0008_assertion_unverified', '0009_watch_list', '0010_alert_ownership', '0011_client_traits', '0012_credential_rollups', '0013_client_asn_slots', '0014_alert_triage', '0015_direct_insert', '0016_jti_use_hours', '0017_rollups_at_tick', '0018_vertical_merges', '0019_merge_blocks'],
    });
    expect(await migrate(clickhouse.client, { retention_days: RETENTION_DAYS })).toEqual({ applied: [] });
    const versions = await select<{ version: number; name: string; n: string }>(
      'SELECT version, any(name) AS name, count() AS n FROM schema_migrations GROUP BY version ORDER BY version',
    );
    expect(versions.map((v) => ({ version: Number(v.version), name: v.name, n: Number(v.n) }))).toEqual([
      { version: 1, name: '0001_token_requests', n: 1 },
      { version: 2, name: '0002_token_requests_input', n: 1 },
      { version: 3, name: '0003_alerts', n: 1 },
      { version: 4, name: '0004_rollups', n: 1 },
      { version: 5, name: '0005_notifications', n: 1 },
      { version: 6, name: '0006_view_security', n: 1 },
      { version: 7, name: '0007_alert_finding', n: 1 },
      { version: 8, name: '0008_assertion_unverified', n: 1 },
      { version: 9, name: '0009_watch_list', n: 1 },
      { version: 10, name: '0010_alert_ownership', n: 1 },
      { version: 11, name: '0011_client_traits', n: 1 },
      { version: 12, name: '0012_credential_rollups', n: 1 },
      { version: 13, name: '0013_client_asn_slots', n: 1 },
      { version: 14, name: '0014_alert_triage', n: 1 },
      { version: 15, name: '0015_direct_insert', n: 1 },
      { version: 16, name: '0016_jti_use_hours', n: 1 },
      { version: 17, name: '0017_rollups_at_tick', n: 1 },
      { version: 18, name: '0018_vertical_merges', n: 1 },
      { version: 19, name: '0019_merge_blocks', n: 1 },
    ]);
  });

  it('merges token_requests column by column, whatever the merge size (0018: a horizontal merge held 200+ MB)', async () => {
    const [table] = await select<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'token_requests'",
    );
    expect(table?.engine_full).toMatch(/vertical_merge_algorithm_min_rows_to_activate = 1\b/);
    expect(table?.engine_full).toMatch(/vertical_merge_algorithm_min_bytes_to_activate = 0\b/);
  });

  it('merges token_requests in blocks of 2,048 rows (0019: a vertical merge of raw held 68-86 MB in blocks of 8,192)', async () => {
    const [table] = await select<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'token_requests'",
    );
    expect(table?.engine_full).toMatch(/merge_max_block_size = 2048\b/);
  });

  it('creates token_requests with the contract columns and types', async () => {
    const columns = await select<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'token_requests' ORDER BY position",
    );
    const types = new Map(columns.map((c) => [c.name, c.type]));
    const contract = [
      'event_id', 'time', 'idp', 'tenant', 'client_id', 'client_name', 'grant_type', 'auth_method', 'credential_id',
      'outcome', 'error_code', 'source_ip', 'user_agent', 'scopes', 'audience', 'assertion_jti', 'assertion_iat',
      'assertion_exp', 'assertion_kid', 'replay_reported', 'assertion_unverified', 'country', 'asn', 'as_org', 'ingested_at',
    ];
    expect([...types.keys()]).toEqual(expect.arrayContaining(contract));
    expect(types.get('source_ip')).toBe('IPv6');
    expect(types.get('time')).toBe("DateTime64(3, 'UTC')");
    expect(types.get('ingested_at')).toBe("DateTime64(3, 'UTC')");
    expect(types.get('outcome')).toBe("Enum8('success' = 1, 'failure' = 2)");
    expect(types.get('scopes')).toBe('Array(LowCardinality(String))');
    expect(types.get('assertion_iat')).toBe("Nullable(DateTime('UTC'))");
    expect(types.get('replay_reported')).toBe('Bool');
    expect(types.get('assertion_unverified')).toBe('Bool');
  });

  it('applies TOKENWATCH_RETENTION_DAYS as the table TTL, and changes it when the setting changes', async () => {
    expect(await ttlDays()).toBe(String(RETENTION_DAYS));
    try {
      expect(await migrate(clickhouse.client, { retention_days: 90 })).toEqual({ applied: [] });
      expect(await ttlDays()).toBe('90');
      expect(await migrate(clickhouse.client, { retention_days: 30 })).toEqual({ applied: [] });
      expect(await ttlDays()).toBe('30');
      // The rollups follow the same setting.
      const rollupTtl = await select<{ name: string; engine_full: string }>(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('client_minute_counts', 'client_locations', 'jti_uses', 'client_traits', 'client_asn_slots', 'credential_days', 'jti_use_hours') ORDER BY name",
      );
      expect(rollupTtl.map((table) => [table.name, table.engine_full.match(/toIntervalDay\((?:_CAST\()?(\d+)/)?.[1]])).toEqual([
        ['client_asn_slots', '30'],
        ['client_locations', '30'],
        ['client_minute_counts', '30'],
        ['client_traits', '30'],
        ['credential_days', '30'],
        ['jti_use_hours', '30'],
        ['jti_uses', '30'],
      ]);
    } finally {
      // Back to the file's retention, so the dated events of the other tests stay.
      await migrate(clickhouse.client, { retention_days: RETENTION_DAYS });
    }
    expect(await ttlDays()).toBe(String(RETENTION_DAYS));
  });

  const minimal = {
    event_id: 'rt-minimal',
    time: '2026-11-28T02:02:03.456+01:00',
    idp: 'okta',
    tenant: 'acme',
    client_id: 'svc-orders',
    grant_type: 'client_credentials',
    auth_method: 'client_secret_basic',
    outcome: 'failure',
    source_ip: '198.51.100.7',
  };
  const STORED = `SELECT event_id, toString(time) AS time, toString(source_ip) AS ip, client_name, credential_id, error_code,
                         user_agent, scopes, audience, outcome, assertion_jti, assertion_iat, assertion_exp, assertion_iss,
                         assertion_sub, assertion_aud, assertion_kid, assertion_alg, replay_reported, assertion_unverified, country, city, asn, as_org
                  FROM token_requests FINAL WHERE event_id = {id:String}`;
  async function stored(id: string): Promise<Record<string, unknown> | undefined> {
    const result = await clickhouse.client.query({ query: STORED, query_params: { id }, format: 'JSONEachRow' });
    return (await result.json<Record<string, unknown>>())[0];
  }

  it('stores a minimal event with empty strings, NULL claims, false and 0 for what was not sent', async () => {
    await insertTokenRequests(clickhouse.client, [line(minimal)], { dedupToken: 'roundtrip-minimal' });
    expect(await stored('rt-minimal')).toEqual({
      event_id: 'rt-minimal',
      time: '2026-11-28 01:02:03.456',
      ip: '::ffff:198.51.100.7',
      client_name: '',
      credential_id: '',
      error_code: '',
      user_agent: '',
      scopes: [],
      audience: '',
      outcome: 'failure',
      assertion_jti: '',
      assertion_iat: null,
      assertion_exp: null,
      assertion_iss: '',
      assertion_sub: '',
      assertion_aud: '',
      assertion_kid: '',
      assertion_alg: '',
      replay_reported: false,
      assertion_unverified: false,
      country: '',
      city: '',
      asn: 0,
      as_org: '',
    });
  });

  it('stores every field of a full event: IPv4-mapped and IPv6 addresses, UTC times, claims, geo', async () => {
    const full = {
      ...minimal,
      event_id: 'rt-full',
      time: Date.UTC(2026, 0, 5, 3, 4, 5, 60),
      client_name: 'orders service',
      credential_id: 'cred-1',
      error_code: 'invalid_client',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders.read', 'orders.write'],
      audience: 'https://api.example',
      assertion: { jti: 'jti-9', iat: 1_764_244_800, exp: 1_764_245_100, iss: 'svc', sub: 'svc', aud: ['a', 'b'], kid: 'key-1', alg: 'RS256' },
      replay_reported: true,
      assertion_unverified: true,
      geo: { country: 'DE', city: 'Berlin', asn: 3320, as_org: 'Deutsche Telekom AG' },
    };
    await insertTokenRequests(
      clickhouse.client,
      [line(full), line({ ...minimal, event_id: 'rt-v6', source_ip: '2001:db8::4', assertion: { aud: 'single' } })],
      { dedupToken: 'roundtrip-full' },
    );
    expect(await stored('rt-full')).toEqual({
      event_id: 'rt-full',
      time: '2026-01-05 03:04:05.060',
      ip: '::ffff:198.51.100.7',
      client_name: 'orders service',
      credential_id: 'cred-1',
      error_code: 'invalid_client',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders.read', 'orders.write'],
      audience: 'https://api.example',
      outcome: 'failure',
      assertion_jti: 'jti-9',
      assertion_iat: '2025-11-27 12:00:00',
      assertion_exp: '2025-11-27 12:05:00',
      assertion_iss: 'svc',
      assertion_sub: 'svc',
      assertion_aud: 'a b',
      assertion_kid: 'key-1',
      assertion_alg: 'RS256',
      replay_reported: true,
      assertion_unverified: true,
      country: 'DE',
      city: 'Berlin',
      asn: 3320,
      as_org: 'Deutsche Telekom AG',
    });
    expect(await stored('rt-v6')).toMatchObject({ ip: '2001:db8::4', assertion_aud: 'single', assertion_iat: null });
  });

  it('stores the helper events with the time decodeCanonical parsed, in both time forms', async () => {
    const events = [1, 2, 3, 4].map((i) => canonicalEvent(i));
    await insertTokenRequests(clickhouse.client, events.map((e) => line(e)), { dedupToken: 'roundtrip-helpers' });
    for (const event of events) {
      const ms = typeof event.time === 'string' ? Date.parse(event.time) : (event.time as number);
      expect((await stored(event.event_id))?.time).toBe(new Date(ms).toISOString().slice(0, 23).replace('T', ' '));
    }
  });

  // Valid JSON spellings of an epoch-milliseconds time that the schema accepts (they are
  // integers once parsed). Storage must take them too: a line it cannot parse fails the
  // whole batch it arrives in, and the worker would retry that batch forever.
  it.each([
    ['a trailing .0', '1795780800000.0'],
    ['an exponent', '1.7957808e12'],
  ])('stores an epoch-ms time written with %s without failing its batch', async (_kind, spelling) => {
    const id = `rt-ms-${spelling}`;
    const input = JSON.stringify({ ...minimal, event_id: id, time: 0 }).replace('"time":0', `"time":${spelling}`);
    const result = decodeOne(input);
    expect(result.kind).toBe('ok');
    if (result.kind !== 'ok') return;
    expect(result.event.time).toBe(Date.UTC(2026, 10, 27, 12));
    await insertTokenRequests(clickhouse.client, [result.line, line({ ...minimal, event_id: `${id}-neighbour` })], {
      dedupToken: `edge:${id}`,
      retries: 0,
    });
    expect((await stored(id))?.time).toBe('2026-11-27 12:00:00.000');
    expect(await stored(`${id}-neighbour`)).toBeDefined();
  });

  it('stores an event whose JSON repeats a key as decodeCanonical read it (the last value), without failing its batch', async () => {
    const input = JSON.stringify({ ...minimal, event_id: 'rt-dup-key' }).replace('"client_id":"svc-orders"', '"client_id":"first","client_id":"svc-orders"');
    const result = decodeOne(input);
    if (result.kind !== 'ok') throw new Error(`a repeated key is read as JSON.parse reads it, but the event was rejected: ${result.reason}`);
    expect(result.event.client_id).toBe('svc-orders');
    expect(result.line).not.toContain('first');
    await insertTokenRequests(clickhouse.client, [result.line, line({ ...minimal, event_id: 'rt-dup-key-neighbour' })], {
      dedupToken: 'edge:dup-key',
      retries: 0,
    });
    const [dup] = await select<{ client_id: string }>("SELECT client_id FROM token_requests FINAL WHERE event_id = 'rt-dup-key'");
    expect(dup?.client_id).toBe('svc-orders');
    expect(await stored('rt-dup-key-neighbour')).toBeDefined();
  });

  it('never stores an assertion exp past 2106 as an earlier date: decode rejects it, naming the field', async () => {
    // 9999999999 (year 2286) is a common "never expires" value; DateTime ends in 2106 (UInt32
    // seconds), so the schema bounds exp and the event is dead-lettered instead of stored.
    const result = decodeOne(JSON.stringify({ ...minimal, event_id: 'rt-far-exp', assertion: { iat: 1_764_244_800, exp: 9_999_999_999 } }));
    expect(result).toEqual({ kind: 'dlq', reason: expect.stringMatching(/^invalid TokenRequest: assertion\.exp: .*4294967295/) });
    // The largest exp the schema takes is stored as itself, not wrapped to an earlier date.
    const last = decodeOne(JSON.stringify({ ...minimal, event_id: 'rt-last-exp', assertion: { iat: 1_764_244_800, exp: 4_294_967_295 } }));
    if (last.kind !== 'ok') throw new Error(`exp 4294967295 was rejected: ${last.reason}`);
    await insertTokenRequests(clickhouse.client, [last.line], { dedupToken: 'edge:last-exp', retries: 0 });
    expect((await stored('rt-last-exp'))?.assertion_exp).toBe('2106-02-07 06:28:15');
  });

  const IN_IDS = 'event_id IN {ids:Array(String)}';

  it('drops a retried insert with the same dedup token', async () => {
    const numbers = Array.from({ length: 50 }, (_, i) => 100 + i);
    const rows = numbers.map((i) => row(i));
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p0:100-149' });
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p0:100-149' });
    // Not FINAL: the second block must never have been written at all.
    expect(await count(`SELECT count() FROM token_requests WHERE ${IN_IDS}`, ids(numbers))).toBe(50);
  });

  it('drops any block whose dedup token was used before, whatever its rows (the token alone decides)', async () => {
    await insertTokenRequests(clickhouse.client, [row(150)], { dedupToken: 'batch:p9:150' });
    await insertTokenRequests(clickhouse.client, [row(151)], { dedupToken: 'batch:p9:150' });
    expect(await count(`SELECT count() FROM token_requests WHERE ${IN_IDS}`, ids([150, 151]))).toBe(1);
    expect(await count(`SELECT count() FROM token_requests WHERE ${IN_IDS}`, ids([151]))).toBe(0);
  });

  it('collapses a block re-sent under a different dedup token with FINAL', async () => {
    const rows = [row(200), row(201)];
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p1:200-201' });
    await insertTokenRequests(clickhouse.client, rows, { dedupToken: 'batch:p1:200-201-from-another-worker' });
    expect(await count(`SELECT count() FROM token_requests FINAL WHERE ${IN_IDS}`, ids([200, 201]))).toBe(2);
  });

  it('counts an event re-sent in a different block once with FINAL and with uniqExact', async () => {
    await insertTokenRequests(clickhouse.client, [row(300), row(301)], { dedupToken: 'batch:p2:300-301' });
    await insertTokenRequests(clickhouse.client, [row(301), row(302)], { dedupToken: 'batch:p3:7-8' });
    expect(await count(`SELECT count() FROM token_requests FINAL WHERE ${IN_IDS}`, ids([300, 301, 302]))).toBe(3);
    const [unique] = await select<{ n: string }>(`SELECT uniqExact(event_id) AS n FROM token_requests WHERE ${IN_IDS}`, ids([300, 301, 302]));
    expect(Number(unique?.n)).toBe(3);
  });

  it('finds which event ids are stored already', async () => {
    await insertTokenRequests(clickhouse.client, [row(400), row(401)], { dedupToken: 'batch:p4:400-401' });
    const stored = await findStoredEventIds(clickhouse.client, ['evt-400', 'evt-401', 'evt-999999', "it's-not-there"]);
    expect([...stored].sort()).toEqual(['evt-400', 'evt-401']);
    expect(await findStoredEventIds(clickhouse.client, [])).toEqual(new Set());
  });

  it('does nothing for an empty insert', async () => {
    const before = await count('SELECT count() FROM token_requests');
    await insertTokenRequests(clickhouse.client, [], { dedupToken: 'empty' });
    expect(await count('SELECT count() FROM token_requests')).toBe(before);
  });

  it('keeps the data after the engine is closed and the directory reopened by another process', async () => {
    const numbers = Array.from({ length: 60 }, (_, i) => 500 + i);
    await insertTokenRequests(clickhouse.client, numbers.map((i) => row(i)), { dedupToken: 'batch:p5:500-559' });
    const expected = await count('SELECT count() FROM token_requests FINAL');
    expect(await count(`SELECT count() FROM token_requests FINAL WHERE ${IN_IDS}`, ids(numbers))).toBe(60);
    await clickhouse.close();
    try {
      const result = await runCli(['sql', 'SELECT count() AS n, countIf(event_id LIKE {prefix:String}) AS mine FROM token_requests FINAL', '--param', 'prefix=evt-5__'], env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout.trim())).toEqual({ n: expected, mine: 60 });
      // And the schema is not migrated again by the reader.
      const migrations = await runCli(['sql', 'SELECT count() AS n FROM schema_migrations'], env);
      expect(migrations.code).toBe(0);
      expect(Number(JSON.parse(migrations.stdout.trim()).n)).toBe(loadMigrations().length);
    } finally {
      // Reopened, so a test after this one still has its engine.
      clickhouse = await openClickHouse(settings);
    }
  });
});
