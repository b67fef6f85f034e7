import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';

/**
 * Reads a .sql file that sits beside the module using it: `sql(import.meta.url, 'x.sql')`.
 * Queries live in files so they can be read, diffed and pasted into `tokenwatch sql` as they
 * are; values always travel as {name:Type} query parameters, never spliced into the text.
 */
export function sql(moduleUrl: string, file: string): string {
  return readFileSync(new URL(file, moduleUrl), 'utf8').trim();
}

/**
 * Runs an `INSERT ... FORMAT JSONEachRow` statement from a .sql file with JSON lines as its
 * data and {name:Type} parameters (per-insert SETTINGS belong in the statement: chDB would
 * make `clickhouse_settings` session-wide).
 */
export async function insertJsonLines(
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
