import type { Readable } from 'node:stream';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { z } from 'zod';
import { errorMessage, QueryError } from '@tokenwatch/shared/errors';
import { checkReadOnlyStatement } from './statement-guard.js';

/** What `tokenwatch sql` sends, whether it runs the query itself or through the query server. */
export const sqlRequestSchema = z.object({
  query: z.string().min(1, 'the query is empty').max(1_000_000),
  format: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'expected a ClickHouse output format name such as JSONEachRow'),
  // {name:Type} query parameters, for saved queries (`tokenwatch alerts`, `tokenwatch sweep`) that take values.
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.array(z.number())])).default({}),
});

export type SqlRequest = z.input<typeof sqlRequestSchema>;

/** What openClickHouse(..., { readOnly: true }) returns: the limited client and, embedded, its parser. */
export type ReadOnlyConnection = Pick<ClickHouse, 'client' | 'parser'>;

/**
 * Runs an ad-hoc query on a connection opened with openClickHouse(..., { readOnly: true }),
 * which forbids writes and bounds rows, bytes, memory and time, so an investigation can never
 * change data or files, nor exhaust the process that holds the engine.
 *
 * ClickHouse's own parser first checks the exact statement that will run (statement-guard.ts):
 * read-only mode still lets a query write `INTO OUTFILE`, read files with `file()` or kill
 * other queries. The result comes back as a byte stream, never one string, so neither the query
 * server nor the CLI holds a second copy of it.
 */
export async function runReadOnlyQuery({ client, parser }: ReadOnlyConnection, request: SqlRequest): Promise<Readable> {
  const statement = `${withoutTrailingSemicolons(request.query)}\nFORMAT ${request.format}`;
  await checkReadOnlyStatement(parser ?? client, statement, request.params ?? {});
  try {
    const result = await client.exec({ query: statement, query_params: request.params ?? {} });
    return result.stream;
  } catch (error) {
    throw new QueryError(describeQueryFailure(error));
  }
}

/** The query as @clickhouse/client's query() would send it: trimmed, without trailing `;`. */
function withoutTrailingSemicolons(query: string): string {
  let end = query.length;
  for (;;) {
    while (end > 0 && /\s/.test(query[end - 1] ?? '')) end -= 1;
    if (end > 0 && query[end - 1] === ';') end -= 1;
    else break;
  }
  let start = 0;
  while (start < end && /\s/.test(query[start] ?? '')) start += 1;
  return query.slice(start, end);
}

/** Which TOKENWATCH_SQL_* setting bounds each limit the engine reports (codes from ClickHouse's ErrorCodes). */
const LIMITS: readonly { readonly type: string; readonly mentions?: string; readonly what: string; readonly setting: string; readonly advice: string }[] = [
  { type: 'TOO_MANY_ROWS_OR_BYTES', mentions: 'max rows', what: 'the result has too many rows', setting: 'TOKENWATCH_SQL_MAX_ROWS', advice: 'add a LIMIT' },
  { type: 'TOO_MANY_ROWS_OR_BYTES', mentions: 'max bytes', what: 'the result is too large', setting: 'TOKENWATCH_SQL_MAX_BYTES', advice: 'select fewer columns or rows' },
  // The engine's limit over everything it runs (inserts and detector ticks too), reached before the query's own.
  { type: 'MEMORY_LIMIT_EXCEEDED', mentions: '(total) memory limit', what: 'the embedded engine is out of memory, for all it runs together', setting: 'TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB', advice: 'retry, add a LIMIT or narrow the time range' },
  { type: 'MEMORY_LIMIT_EXCEEDED', what: 'the query needs too much memory', setting: 'TOKENWATCH_SQL_MAX_MEMORY', advice: 'add a LIMIT or narrow the time range' },
  { type: 'TIMEOUT_EXCEEDED', what: 'the query ran too long', setting: 'TOKENWATCH_SQL_TIMEOUT_SECONDS', advice: 'narrow the time range' },
];

/**
 * One line: which limit stopped the query and the setting that changes it (a setting of the
 * process that runs the query: `tokenwatch start` when it serves it), or the engine's message.
 */
function describeQueryFailure(error: unknown): string {
  const message = firstLine(errorMessage(error));
  const type = typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : '';
  const limit = LIMITS.find((candidate) => candidate.type === type && (!candidate.mentions || message.includes(candidate.mentions)));
  if (!limit) return message;
  return `${limit.what} (${message}): ${limit.advice}, or raise ${limit.setting}`;
}

function firstLine(text: string): string {
  const line = text.slice(0, 2_000).split('\n', 1)[0] ?? '';
  return line.trim().replace(/[.:]$/, '');
}
