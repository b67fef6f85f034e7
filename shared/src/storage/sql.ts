import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { z } from 'zod';

/**
 * Reads a .sql file that sits beside the module using it: `sql(import.meta.url, 'x.sql')`.
 * Queries live in files so they can be read, diffed and pasted into `tokenwatch sql` as they
 * are; values always travel as {name:Type} query parameters, never spliced into the text.
 */
export function sql(moduleUrl: string, file: string): string {
  return readFileSync(new URL(file, moduleUrl), 'utf8').trim();
}

/**
 * Runs an INSERT from a .sql file whose data is one line per row, in the text format the
 * statement names (JSONEachRow, TabSeparated), with {name:Type} parameters. Nothing is sent for
 * no lines. Per-insert SETTINGS belong in the statement: chDB would make `clickhouse_settings`
 * session-wide.
 */
export async function insertLines(
  client: ClickHouseClient,
  statement: string,
  lines: readonly string[],
  params: Record<string, unknown> = {},
): Promise<void> {
  if (lines.length === 0) return;
  const body = `${lines.join('\n')}\n`;
  const result = await client.exec({ query: statement, query_params: params, values: Readable.from([body]) });
  // The response of an INSERT is empty, but the stream must be drained to free the socket.
  result.stream.resume();
  await new Promise<void>((resolve, reject) => {
    result.stream.once('end', resolve).once('close', resolve).once('error', reject);
  });
}

/**
 * Runs a SELECT from a .sql file with {name:Type} parameters and validates every row: rows
 * read back from ClickHouse are input like any other, and a schema change that breaks a
 * reader should fail loudly, not act on undefined fields.
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
