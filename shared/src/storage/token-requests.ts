import type { ClickHouseClient } from '@clickhouse/client';
import { DependencyError, errorMessage } from '../errors.js';
import { insertJsonLines, sql } from './sql.js';

const INSERT_TOKEN_REQUESTS = sql(import.meta.url, './insert-token-requests.sql');
const STORED_EVENT_IDS = sql(import.meta.url, './stored-event-ids.sql');

export interface InsertOptions {
  /**
   * Identifies the batch, e.g. `topic:partition:first-last`. A retry with the same token is
   * dropped by ClickHouse, so retrying after an ambiguous failure cannot store a block twice.
   */
  readonly dedupToken: string;
  readonly retries?: number;
}

/**
 * Stores validated events given as canonical TokenRequest JSON lines, retrying transient
 * failures with the same deduplication token. Gives up with a DependencyError after the
 * retries so that the caller does not commit offsets.
 */
export async function insertTokenRequests(
  client: ClickHouseClient,
  lines: readonly string[],
  { dedupToken, retries = 4 }: InsertOptions,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await insertJsonLines(client, INSERT_TOKEN_REQUESTS, lines, { dedup_token: dedupToken });
      return;
    } catch (error) {
      if (attempt >= retries) {
        throw new DependencyError(`ClickHouse insert into token_requests failed after ${attempt + 1} attempts: ${errorMessage(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** Which of these event ids are already stored (for import's duplicate count). */
export async function findStoredEventIds(client: ClickHouseClient, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const result = await client.query({ query: STORED_EVENT_IDS, query_params: { ids: eventIds }, format: 'JSONEachRow' });
  const rows = await result.json<{ event_id: string }>();
  return new Set(rows.map((row) => row.event_id));
}
