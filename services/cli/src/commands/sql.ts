import { pipeline } from 'node:stream/promises';
import { ConfigError } from '@tokenwatch/shared/errors';
import { readOnlySql } from '@tokenwatch/server/read-only';
import type { CommandContext } from '../run.js';

/**
 * `tokenwatch sql "<query>" [--param name=value ...]`: read-only ad-hoc SQL. A readable table
 * on a terminal, JSONEachRow when piped. Each --param fills a ClickHouse query parameter
 * `{name:Type}`; ClickHouse parses the text as that type (String, UInt32, DateTime64(3, 'UTC'),
 * Array(String) as ['a','b'], ...), so values never need quoting or escaping in the SQL and the
 * queries in docs/investigations.md run unchanged.
 */
export async function sqlCommand(
  { settings }: CommandContext,
  query: string,
  format: string | undefined,
  params: readonly string[] = [],
): Promise<void> {
  const result = await readOnlySql(settings, {
    query,
    format: format ?? (process.stdout.isTTY ? 'PrettyCompactMonoBlock' : 'JSONEachRow'),
    params: parseParams(params),
  });
  // Streamed to stdout as it arrives; stdout itself stays open for the exit path's messages.
  await pipeline(result, process.stdout, { end: false });
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `name=value` pairs as query parameters; the value is everything after the first `=` (it may be empty). */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    if (equals < 0 || !PARAM_NAME.test(name)) {
      throw new ConfigError(`invalid --param ${JSON.stringify(pair)}: expected name=value, e.g. --param client_id=svc-billing`);
    }
    if (Object.hasOwn(params, name)) throw new ConfigError(`--param ${name} given twice`);
    params[name] = pair.slice(equals + 1);
  }
  return params;
}
