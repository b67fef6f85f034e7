import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { DependencyError, errorMessage } from '../errors.js';
import { DAY_MS } from '../time.js';
import { describeRefusal, isRefusedData, refusedRow, RowsRefusedError } from './insert-errors.js';
import { insertLines, queryRows, sql } from './sql.js';

const INSERT_TOKEN_REQUESTS = sql(import.meta.url, './insert-token-requests.sql');
const STORED_EVENT_IDS = sql(import.meta.url, './stored-event-ids.sql');

/**
 * ClickHouse refuses an INSERT block that touches more partitions than this
 * (max_partitions_per_insert_block's default); writers split their batches by `partitionOf`.
 */
export const MAX_PARTITIONS_PER_INSERT = 100;

/**
 * The token_requests partition an event time (epoch ms) falls in: its week, as `PARTITION BY
 * toMonday(time)` in migrations/0001 computes it (UTC; 1970-01-01 was a Thursday, hence the 3).
 */
export function partitionOf(timeMs: number): number {
  return Math.floor((Math.floor(timeMs / DAY_MS) + 3) / 7);
}

export interface InsertOptions {
  /**
   * Identifies the block by where it came from and what it holds. A retry with the same token
   * is dropped by ClickHouse, so retrying after an ambiguous failure cannot store a block twice.
   */
  readonly dedupToken: string;
  readonly retries?: number;
}

/**
 * Stores validated events, each a TabSeparated line of encodeTokenRequestRow, in one INSERT. Rows
 * ClickHouse refuses (isRefusedData) fail at once with a RowsRefusedError: sending them again
 * cannot help. Anything else is the infrastructure's: retried with the same deduplication
 * token, then a DependencyError, so that the caller neither commits nor dead-letters.
 */
export async function insertTokenRequests(
  client: ClickHouseClient,
  lines: readonly string[],
  { dedupToken, retries = 4 }: InsertOptions,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await insertLines(client, INSERT_TOKEN_REQUESTS, lines, { dedup_token: dedupToken });
      return;
    } catch (error) {
      if (isRefusedData(error)) throw new RowsRefusedError(describeRefusal(error), refusedRow(error));
      if (attempt >= retries) {
        throw new DependencyError(`ClickHouse insert into token_requests failed after ${attempt + 1} attempts: ${errorMessage(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

const storedEventIdRow = z.object({ event_id: z.string() });

/** Which of these event ids are already stored (for import's duplicate count). */
export async function findStoredEventIds(client: ClickHouseClient, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = await queryRows(client, STORED_EVENT_IDS, { ids: eventIds }, storedEventIdRow);
  return new Set(rows.map((row) => row.event_id));
}
