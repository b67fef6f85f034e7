import { afterEach, describe, expect, it } from 'vitest';
import { runReadOnlyQuery } from '@tokenwatch/server/query-server/read-only-query';
import { engineOpener } from '../helpers/storage.js';

// A file of its own, so a process of its own whose first engine this is. chDB's count of all
// the engine holds (MemoryTracking, what its limit is checked against) is the process's, and
// engines opened and closed before in the same process left it lower than what is held: after
// engine-memory.test.ts's other tests, creating the 80 MB table below left it at 5 MB in some
// runs (the query's own cap then stopped the query first, 2 runs in 3 on 2026-12-01), while as
// the first engine of its process it passed 5 runs in 5.

const MIB = 1024 * 1024;
const { open, closeAll } = engineOpener('engine-memory-total');

afterEach(closeAll);

describe('embedded engine memory limit over everything', () => {
  it('names TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB when the engine\'s limit over everything stops an investigation first', async () => {
    const writer = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '128' });
    // What the service holds beside the investigation (here a Memory table of 80 MB) counts
    // against the engine's limit, not against the query's own cap.
    await writer.client.command({ query: 'CREATE TABLE held_in_memory ENGINE = Memory AS SELECT number FROM numbers(10000000)' });
    const reader = await open({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '128', TOKENWATCH_SQL_MAX_MEMORY: String(128 * MIB) }, true);
    await expect(runReadOnlyQuery(reader, { query: 'SELECT length(groupArray(number)) AS n FROM numbers(16000000)', format: 'JSONEachRow' }))
      .rejects.toThrow(/^the embedded engine is out of memory, for all it runs together \(\(total\) memory limit exceeded.*\): retry, add a LIMIT or narrow the time range, or raise TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB$/);
    await writer.client.command({ query: 'DROP TABLE held_in_memory SYNC' });
  });
});
