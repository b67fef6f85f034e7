import type { ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';

/**
 * Runs a SELECT from a .sql file with {name:Type} parameters and validates every row: rows
 * read back from ClickHouse are input like any other, and a schema change that breaks a
 * detector should fail loudly, not raise alerts from undefined fields.
 */
export async function queryRows<S extends z.ZodType>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown>,
  row: S,
): Promise<Array<z.output<S>>> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<unknown>();
  return rows.map((value) => row.parse(value));
}
