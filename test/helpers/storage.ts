import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { decodeCanonical } from '@tokenwatch/ingest/decode';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { refreshRollups } from '@tokenwatch/shared/storage/rollups/refresh';
import { storeDecoded } from '@tokenwatch/ingest/store';
import { settingsFrom, testEnv } from './settings.js';

/** Long retention: fixtures are dated. */
export const TEST_RETENTION_DAYS = 7_300;

/** A fresh embedded ClickHouse with the schema applied. */
export async function openTestStorage(name: string): Promise<ClickHouse> {
  const clickhouse = await openClickHouse(settingsFrom(testEnv(name)));
  await migrate(clickhouse.client, { retention_days: TEST_RETENTION_DAYS });
  return clickhouse;
}

/**
 * Opens test directory `name`'s embedded engine with settings overrides, for tests of the
 * engine's own start-up arguments, which open it afresh each time; closeAll closes what was
 * opened, newest first (a read-only connection joins the engine its writer started).
 */
export function engineOpener(name: string) {
  const env = testEnv(name);
  const opened: ClickHouse[] = [];
  return {
    async open(overrides: Record<string, string>, readOnly = false): Promise<ClickHouse> {
      const clickhouse = await openClickHouse(settingsFrom({ ...env, ...overrides }), { readOnly });
      opened.push(clickhouse);
      return clickhouse;
    },
    async closeAll(): Promise<void> {
      for (const clickhouse of opened.splice(0).reverse()) await clickhouse.close();
    },
  };
}

let batch = 0;

/**
 * Stores canonical events through the ingest worker's write path; every one must be stored. Then
 * rolls them up (refreshTestRollups), as the detector's next tick would, unless `rollUp: false`:
 * tests read the rollups right after storing, as they did when views fed them on insert.
 */
export async function storeEvents(clickhouse: ClickHouse, events: readonly TokenRequestInput[], { rollUp = true } = {}): Promise<void> {
  batch += 1;
  const outcome = await storeDecoded(events, (event) => decodeCanonical(JSON.stringify(event)), {
    clickhouse: clickhouse.client,
    source: `test-${process.pid}-${batch}`,
    retentionDays: TEST_RETENTION_DAYS,
  });
  const [rejected] = outcome.rejected;
  if (rejected) throw new Error(`test event ${rejected.record.event_id} was not stored: ${rejected.reason}`);
  const lost = events.length - outcome.stored - outcome.repeatedInBatch;
  if (lost !== 0) throw new Error(`${lost} test events were not stored (expired ${outcome.expired}, not token requests ${outcome.notTokenRequests})`);
  if (rollUp) await refreshTestRollups(clickhouse);
}

/**
 * Rolls up everything stored so far, as a detector tick does (shared/src/storage/rollups/refresh.ts).
 * No safety lag: the inserts a test waited for are visible.
 */
export async function refreshTestRollups(clickhouse: ClickHouse): Promise<void> {
  await refreshRollups(clickhouse.client, { until: Date.now() });
}

export async function selectRows<T>(clickhouse: ClickHouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}
