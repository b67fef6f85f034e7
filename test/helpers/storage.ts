import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { decodeCanonical } from '@tokenwatch/ingest/decode';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { settingsFrom, testEnv } from './settings.js';

/** A fresh embedded ClickHouse with the schema applied (long retention: fixtures are dated). */
export async function openTestStorage(name: string): Promise<ClickHouse> {
  const clickhouse = await openClickHouse(settingsFrom(testEnv(name)));
  await migrate(clickhouse.client, { retention_days: 7_300 });
  return clickhouse;
}

let batch = 0;

/** Stores canonical events the way the ingest worker does (decode, then insert JSON lines). */
export async function storeEvents(clickhouse: ClickHouse, events: readonly TokenRequestInput[]): Promise<void> {
  const lines = events.map((event) => {
    const [result] = decodeCanonical(JSON.stringify(event));
    if (!result) throw new Error(`test event ${event.event_id} gave no result`);
    if (result.kind !== 'ok') throw new Error(`test event ${event.event_id} does not decode: ${result.reason}`);
    return result.json;
  });
  batch += 1;
  await insertTokenRequests(clickhouse.client, lines, { dedupToken: `test-${process.pid}-${batch}` });
}

export async function selectRows<T>(clickhouse: ClickHouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}
