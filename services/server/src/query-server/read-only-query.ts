import type { ClickHouseClient, DataFormat } from '@clickhouse/client';
import { z } from 'zod';
import { errorMessage, QueryError } from '@tokenwatch/shared/errors';

/** What `tokenwatch sql` sends, whether it runs the query itself or through the query server. */
export const sqlRequestSchema = z.object({
  query: z.string().min(1, 'the query is empty').max(1_000_000),
  format: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'expected a ClickHouse output format name such as JSONEachRow'),
  // {name:Type} query parameters, for saved queries (`tokenwatch alerts`) that take values.
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])).default({}),
});

export type SqlRequest = z.input<typeof sqlRequestSchema>;

/**
 * Runs an ad-hoc query on a connection opened with openClickHouse(..., { readOnly: true }),
 * which forbids writes and bounds execution time, so an investigation can never change data
 * or stall the ingest worker for long.
 */
export async function runReadOnlyQuery(client: ClickHouseClient, request: SqlRequest): Promise<string> {
  try {
    const result = await client.query({ query: request.query, query_params: request.params ?? {}, format: request.format as DataFormat });
    return await result.text();
  } catch (error) {
    throw new QueryError(errorMessage(error));
  }
}
