import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage, QueryError } from '@tokenwatch/shared/errors';

/**
 * Read-only mode (readonly=1 embedded, the investigator profile on a server) stops writes, DDL
 * and most table functions, but not everything a query can do outside the database: chDB runs
 * `INTO OUTFILE` inside the process that holds the engine (the service, through the query
 * server), the `file()` function reads any file that process can, and `KILL QUERY` stops the
 * ingest worker's inserts. So before a statement runs, ClickHouse's own parser describes it
 * (`EXPLAIN AST`, which parses and runs nothing) and this module walks that tree. A regex over
 * the SQL text would be fooled by comments, quoting and case; the tree is what will run.
 *
 * The walk fails closed: only statement kinds that read are accepted, table functions must be
 * on an allowlist of generators, and anything in the dump this module does not understand is
 * a refusal, not a pass.
 */

/** Statements that only read (root node names of the AST dump). */
const READING_STATEMENTS = new Set(['SelectWithUnionQuery', 'DescribeQuery', 'ShowTables', 'ShowColumns', 'ExistsTableQuery', 'ShowCreateTableQuery', 'Explain']);

/** Table functions that generate rows in memory; every other one reaches files, URLs or servers. */
const GENERATING_TABLE_FUNCTIONS = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'values', 'generaterandom', 'generate_series', 'generateseries', 'null', 'view', 'merge']);

/** Ordinary functions that read files of the engine's process (function names compared lower-case). */
const FILE_READING_FUNCTIONS = new Set(['file', 'catboostevaluate']);

/** Longest AST dump this reads: a 1 MB query (the request limit) dumps well below it. */
const MAX_DUMP_CHARS = 32_000_000;

export async function checkReadOnlyStatement(client: ClickHouseClient, statement: string, params: Record<string, unknown>): Promise<void> {
  let dump: string;
  try {
    // The statement already ends in FORMAT <name>, so this FORMAT applies to EXPLAIN's own output.
    // Parameters are bound as typed literals, so they cannot add a clause or a function.
    const result = await client.query({ query: `EXPLAIN AST ${statement}`, query_params: params, format: 'TabSeparatedRaw' });
    dump = await result.text();
  } catch (error) {
    throw new QueryError(errorMessage(error).split('\n', 1)[0] ?? 'the query does not parse');
  }
  const refusal = refusalOf(dump);
  if (refusal) throw new QueryError(`tokenwatch sql runs read-only queries only: ${refusal}`);
}

interface AstNode {
  readonly depth: number;
  readonly kind: string;
  readonly name: string;
}

/** Why the statement whose `EXPLAIN AST` dump this is may not run, or undefined when it may. */
export function refusalOf(dump: string): string | undefined {
  if (dump.length > MAX_DUMP_CHARS) return 'the query is too complex to check';
  const nodes = dump.split('\n').filter((line) => line.trim() !== '').map(parseLine);
  const root = nodes[0];
  if (!root || root.depth !== 0) return 'the query does not parse';
  if (!READING_STATEMENTS.has(root.kind)) return `${root.kind.replace(/[^A-Za-z]/g, '').replace(/Query$/, '')} statements are not allowed`;
  // Parents by depth: the dump indents each child one space deeper than its parent.
  const parents: AstNode[] = [];
  for (const node of nodes) {
    parents.length = node.depth;
    const parent = parents[node.depth - 1];
    parents.push(node);
    // The statement's own children that are literals are INTO OUTFILE's path and COMPRESSION.
    if (node.depth === 1 && node.kind === 'Literal') return 'INTO OUTFILE is not allowed (the output goes to your terminal or pipe)';
    // A SETTINGS clause could lift the limits that bound the query (TOKENWATCH_SQL_*).
    if (node.kind === 'Set') return 'a SETTINGS clause is not allowed (the limits are TOKENWATCH_SQL_* settings)';
    if (node.kind === 'Function') {
      const name = node.name.toLowerCase();
      if (parent?.kind === 'TableExpression' && !GENERATING_TABLE_FUNCTIONS.has(name)) return `the table function ${node.name}() is not allowed`;
      if (FILE_READING_FUNCTIONS.has(name)) return `the function ${node.name}() is not allowed`;
    }
  }
  return undefined;
}

function parseLine(line: string): AstNode {
  let depth = 0;
  while (line[depth] === ' ') depth += 1;
  const words = line.slice(depth).split(' ', 2);
  return { depth, kind: words[0] ?? '', name: words[1] ?? '' };
}
