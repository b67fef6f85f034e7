import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { parseFlags } from '../flags.js';
import type { CommandContext } from '../run.js';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PARAM_HINT = 'expected name=value, e.g. --param client_id=svc-billing';

const paramPair = z.string().refine((pair) => {
  const equals = pair.indexOf('=');
  return equals > 0 && PARAM_NAME.test(pair.slice(0, equals));
}, PARAM_HINT);

/** `name=value` pairs as query parameters; the value is everything after the first `=` (it may be empty). */
const paramsFlag = z
  .array(paramPair)
  .max(1_000)
  .transform((pairs, context) => {
    const params: Record<string, string> = {};
    for (const pair of pairs) {
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals);
      if (Object.hasOwn(params, name)) {
        context.addIssue({ code: 'custom', message: `${name} given twice` });
        return z.NEVER;
      }
      params[name] = pair.slice(equals + 1);
    }
    return params;
  });

const sqlFlags = z.object({
  format: z.string().min(1).max(64).optional(),
  param: paramsFlag,
});

/**
 * `tokenwatch sql "<query>" [--param name=value ...]`: read-only ad-hoc SQL. A readable table
 * on a terminal, JSONEachRow when piped. Each --param fills a ClickHouse query parameter
 * `{name:Type}`; ClickHouse parses the text as that type (String, UInt32, DateTime64(3, 'UTC'),
 * Array(String) as ['a','b'], ...), so values never need quoting or escaping in the SQL and the
 * queries in docs/investigations.md run unchanged.
 */
export async function sqlCommand({ settings }: CommandContext, query: string, flags: unknown): Promise<void> {
  const options = parseFlags(sqlFlags, flags);
  const result = await readOnlySql(settings, {
    query,
    format: options.format ?? (process.stdout.isTTY ? 'PrettyCompactMonoBlock' : 'JSONEachRow'),
    params: options.param,
  });
  // Streamed to stdout as it arrives; stdout itself stays open for the exit path's messages.
  await pipeline(result, process.stdout, { end: false });
}
