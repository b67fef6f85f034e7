import { readOnlySql } from '../read-only.js';
import type { CommandContext } from '../run.js';

/** `tokenwatch sql "<query>"`: read-only ad-hoc SQL. A readable table on a terminal, JSONEachRow when piped. */
export async function sqlCommand({ settings }: CommandContext, query: string, format: string | undefined): Promise<void> {
  process.stdout.write(await readOnlySql(settings, { query, format: format ?? (process.stdout.isTTY ? 'PrettyCompactMonoBlock' : 'JSONEachRow') }));
}
