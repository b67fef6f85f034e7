import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_MEMORY_DEFAULTS } from '@tokenwatch/shared/config/settings';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { runReadOnlyQuery } from '@tokenwatch/server/query-server/read-only-query';
import { z } from 'zod';
import { engineOpener } from '../helpers/storage.js';

// One embedded data directory for the whole file (chDB binds one per process); each test opens
// it afresh after the previous one closed it, so the engine restarts with that test's arguments.

const MIB = 1024 * 1024;
const { open, closeAll } = engineOpener('engine-memory');

const serverSettingRow = z.object({ name: z.string(), value: z.coerce.number() });

async function serverSettings(clickhouse: ClickHouse): Promise<Record<string, number>> {
  // system.server_settings shows what the engine runs with, not what was asked for.
  const rows = await queryRows(
    clickhouse.client,
    "SELECT name, value FROM system.server_settings WHERE name IN ('max_server_memory_usage', 'merges_mutations_memory_usage_soft_limit', 'mark_cache_size', 'uncompressed_cache_size', 'primary_index_cache_size', 'index_mark_cache_size', 'query_condition_cache_size', 'background_pool_size')",
    {},
    serverSettingRow,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.value]));
}

afterEach(closeAll);

describe('embedded engine memory settings', () => {
  it('starts the engine with TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB, _MARK_CACHE_MB and _MERGE_THREADS, seen by read-only connections too', async () => {
    const writer = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '288', TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: '16', TOKENWATCH_CLICKHOUSE_MERGE_THREADS: '3' });
    expect(await serverSettings(writer)).toEqual({
      max_server_memory_usage: 288 * MIB,
      merges_mutations_memory_usage_soft_limit: 144 * MIB,
      mark_cache_size: 16 * MIB,
      uncompressed_cache_size: 0,
      primary_index_cache_size: 16 * MIB,
      index_mark_cache_size: 8 * MIB,
      query_condition_cache_size: 8 * MIB,
      background_pool_size: 3,
    });
    // The query server's connection joins the running engine: same limits.
    const reader = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '288', TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: '16' }, true);
    expect((await serverSettings(reader)).max_server_memory_usage).toBe(288 * MIB);
  });

  it('holds the engine to its limit: a query needing more fails with MEMORY_LIMIT_EXCEEDED, and the engine goes on', async () => {
    const clickhouse = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '128' });
    // The previous test's engine (288 MiB) must be gone, not joined.
    expect((await serverSettings(clickhouse)).max_server_memory_usage).toBe(128 * MIB);
    // An array of 64 million UInt64 is 512 MiB, four times the limit.
    await expect(clickhouse.client.query({ query: 'SELECT length(groupArray(number)) AS n FROM numbers(64000000)', format: 'JSONEachRow' }).then((result) => result.json()))
      .rejects.toThrow(/MEMORY_LIMIT_EXCEEDED|memory limit exceeded/i);
    const [row] = await queryRows(clickhouse.client, 'SELECT count() AS n FROM numbers(1000)', {}, z.object({ n: z.coerce.number() }));
    expect(row?.n).toBe(1000);
  });

  it('uses the documented defaults when the settings are unset', async () => {
    const clickhouse = await open({});
    const settings = await serverSettings(clickhouse);
    expect(settings.max_server_memory_usage).toBe(ENGINE_MEMORY_DEFAULTS.limitMb * MIB);
    expect(settings.mark_cache_size).toBe(ENGINE_MEMORY_DEFAULTS.markCacheMb * MIB);
    expect(settings.background_pool_size).toBe(ENGINE_MEMORY_DEFAULTS.mergeThreads);
  });

  it('caps an investigation at half the engine\'s limit, so the query\'s own cap stops it and names TOKENWATCH_SQL_MAX_MEMORY', async () => {
    await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '256' });
    const reader = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '256' }, true);
    const [cap] = await queryRows(reader.client, "SELECT value FROM system.settings WHERE name = 'max_memory_usage'", {}, z.object({ value: z.coerce.number() }));
    expect(cap?.value).toBe(128 * MIB);
    // 512 MiB: above both limits; the query's, the lower, stops it first.
    await expect(runReadOnlyQuery(reader, { query: 'SELECT length(groupArray(number)) AS n FROM numbers(64000000)', format: 'JSONEachRow' }))
      .rejects.toThrow(/^the query needs too much memory \(Query memory limit exceeded.*\): add a LIMIT or narrow the time range, or raise TOKENWATCH_SQL_MAX_MEMORY$/);
  });
});
