import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { z } from 'zod';

/** What the investigate page sends: the query and its `{name:Type}` parameters as text (ClickHouse parses each as its declared type). */
export const investigateRequestSchema = z.strictObject({
  query: z.string().min(1, 'the query is empty').max(100_000, 'the query is longer than 100,000 characters'),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a parameter name'), z.string().max(10_000)).default({}),
});
export type InvestigateRequest = z.output<typeof investigateRequestSchema>;

/**
 * Runs a read-only query with the guard and limits of `tokenwatch sql` (the server passes its
 * readOnlySql: ClickHouse's parser checks the statement, the connection is read-only and
 * bounded by TOKENWATCH_SQL_*). The console never runs SQL any other way.
 */
export type ReadOnlyQuery = (request: { query: string; format: string; params: Record<string, string> }) => Promise<Readable>;

/** Rows the page shows; the CSV download has them all (within TOKENWATCH_SQL_MAX_ROWS). */
export const SHOWN_ROWS = 1_000;

export interface QueryTable {
  readonly columns: string[];
  readonly types: string[];
  readonly rows: unknown[][];
  /** True when the result had more than SHOWN_ROWS rows (the rest were not read). */
  readonly truncated: boolean;
}

export async function runForTable(run: ReadOnlyQuery, request: InvestigateRequest): Promise<QueryTable> {
  const stream = await run({ query: request.query, format: 'JSONCompactEachRowWithNamesAndTypes', params: request.params });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let columns: string[] = [];
  let types: string[] = [];
  const rows: unknown[][] = [];
  let truncated = false;
  let index = 0;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const values = JSON.parse(line) as unknown[];
      if (index === 0) columns = values.map(String);
      else if (index === 1) types = values.map(String);
      else if (rows.length < SHOWN_ROWS) rows.push(values);
      else {
        truncated = true;
        break;
      }
      index += 1;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return { columns, types, rows, truncated };
}

export async function runForCsv(run: ReadOnlyQuery, request: InvestigateRequest): Promise<Readable> {
  return run({ query: request.query, format: 'CSVWithNames', params: request.params });
}
