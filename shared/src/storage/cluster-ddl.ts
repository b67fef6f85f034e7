import type { Settings } from '../config/settings.js';
import type { Migration } from './migrate.js';

/**
 * Cluster mode (TOKENWATCH_CLICKHOUSE_CLUSTER): the single-node migrations, rewritten for a
 * ClickHouse cluster of shards and replicas. One set of migration files serves both: this
 * module transforms every statement, so a migration added later is transformed too, and a
 * statement it does not understand stops the migration with an error naming it instead of
 * running half-translated DDL on a cluster.
 *
 * What a migration's statements become:
 * - `CREATE TABLE t (...) ENGINE = XMergeTree[(args)] ...` -> `t_local ON CLUSTER`, engine
 *   `ReplicatedXMergeTree('/clickhouse/tables/{shard}/{database}/t', '{replica}'[, args])`,
 *   and `t` itself a `Distributed` table in front of it. The sharding key keeps one client on
 *   one shard (cityHash64(tenant, client_id)) when the sort key holds both, so the detectors'
 *   per-client reads and merges stay on one shard; otherwise it hashes the whole sort key, so
 *   rows that ReplacingMergeTree or AggregatingMergeTree merge (same sort key) share a shard
 *   and FINAL, which runs per shard, stays right. A table fed by a view on a sharded table is
 *   the exception: its rows sit where the view put them, on the shard of the source row, so its
 *   key is the source's key when it has those columns, and rand() when it has not (jti_uses,
 *   one jti of two clients on two shards): a key that did not say where rows are would let
 *   ClickHouse skip the cross-shard merge of a GROUP BY on it
 *   (optimize_distributed_group_by_sharding_key, on by default), and reads of such a table
 *   must GROUP BY, never rely on FINAL alone. `non_replicated_deduplication_window = N`
 *   becomes `replicated_deduplication_window = N` (in CREATE TABLE and ALTER TABLE ... MODIFY SETTING): Replicated engines ignore the former.
 * - `CREATE TABLE t (...) ENGINE = Null` (the insert path's input) -> `ON CLUSTER`, every node.
 * - `CREATE MATERIALIZED VIEW v TO t AS SELECT ... FROM s`: a view reading a sharded table reads
 *   its `_local` table and writes into the `_local` target (each shard rolls up its own rows);
 *   a view reading an unsharded table (the Null input) writes into the Distributed `t`, which
 *   routes each row to its client's shard.
 * - `ALTER TABLE t ...` -> `ON CLUSTER`; on a sharded table, column changes go to `t_local` and
 *   to the Distributed `t` (which has the same columns), everything else to `t_local` only.
 * - `INSERT INTO t SELECT ...` (a back-fill) runs once, on the Distributed tables, in the
 *   foreground: it returns when every shard has its rows.
 * - `DROP VIEW [IF EXISTS] v` of a materialized view an earlier statement made -> `ON CLUSTER`:
 *   views live on every node, alone, so one statement drops them all (0016 stops feeding a
 *   rollup this way).
 * Anything else (DROP TABLE, whose `_local` and Distributed pair needs more thought, RENAME,
 * plain views, a table already replicated or qualified with a database, ...) is refused by
 * ClusterDdlError.
 */

export interface ClusterTarget {
  /** The cluster's name in the servers' remote_servers (validated by settings: [A-Za-z0-9_]). */
  readonly cluster: string;
  /** The database the tables live in on every node (CLICKHOUSE_DATABASE). */
  readonly database: string;
}

/** The cluster of the settings, or undefined for one node. */
export function clusterTarget(settings: Pick<Settings, 'CLICKHOUSE_DATABASE'> & Partial<Pick<Settings, 'TOKENWATCH_CLICKHOUSE_CLUSTER'>>): ClusterTarget | undefined {
  const cluster = settings.TOKENWATCH_CLICKHOUSE_CLUSTER;
  return cluster ? { cluster, database: settings.CLICKHOUSE_DATABASE } : undefined;
}

/** The suffix of the shard-local table behind a Distributed one. */
export const LOCAL_SUFFIX = '_local';

export class ClusterDdlError extends Error {
  override readonly name = 'ClusterDdlError';
}

/** The engines of the MergeTree family that have a Replicated twin (ClickHouse's own list). */
const MERGE_TREE_ENGINES = new Set([
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'GraphiteMergeTree',
  'CoalescingMergeTree',
]);

/** The single-node dedup window setting and its Replicated equivalent. */
const DEDUP_WINDOW_SETTINGS: ReadonlyMap<string, string> = new Map([['non_replicated_deduplication_window', 'replicated_deduplication_window']]);

/** ALTER operations that change columns, which a Distributed table must follow. */
const COLUMN_OPERATIONS = new Set(['ADD', 'DROP', 'MODIFY', 'RENAME', 'COMMENT']);

/** Clauses of CREATE TABLE that may follow ORDER BY and so end its expression. */
const TABLE_CLAUSES = new Set(['PARTITION', 'PRIMARY', 'ORDER', 'SAMPLE', 'TTL', 'SETTINGS', 'COMMENT']);

/** The schema as the statements so far built it: what each name is in cluster mode. */
interface Layout {
  /** MergeTree tables, now `_local` plus a Distributed table of the original name, with their sharding key. */
  readonly sharded: Map<string, ShardingKey>;
  /** Tables on every node as they are (the Null input). */
  readonly everywhere: Set<string>;
  /** Materialized views, and whether each reads a sharded table (so writes its `_local` target). */
  readonly views: Map<string, { readsSharded: boolean }>;
}

/**
 * Transforms every statement of every migration, in order (later ones refer to earlier ones).
 * A first pass notes which tables views write into, as a table is created before its view.
 */
export function clusterMigrations(migrations: readonly Migration[], target: ClusterTarget): Migration[] {
  const transformer = new ClusterDdl(target);
  for (const migration of migrations) {
    for (const statement of migration.statements) transformer.noteView(statement);
  }
  return migrations.map((migration) => ({
    ...migration,
    statements: migration.statements.flatMap((statement, index) => transformer.statement(statement, `${migration.name} statement ${index + 1}`)),
  }));
}

/** The shard-local name of a table in cluster mode, or the name itself single-node. */
export function localTableName(table: string, target: ClusterTarget | undefined): string {
  return target ? `${table}${LOCAL_SUFFIX}` : table;
}

/** ` ON CLUSTER 'name'`; the name is validated by settings and quoted here all the same. */
export function onCluster(target: ClusterTarget): string {
  return ` ON CLUSTER ${quote(target.cluster)}`;
}

/** A Distributed table's sharding expression and the columns it reads. */
interface ShardingKey {
  readonly expression: string;
  readonly columns: readonly string[];
}

const RANDOM_SHARD: ShardingKey = { expression: 'rand()', columns: [] };

/** Transforms statements one at a time, keeping the layout they build. */
export class ClusterDdl {
  private readonly layout: Layout = { sharded: new Map(), everywhere: new Set(), views: new Map() };
  /** The tables each view target is fed from, over all migrations (noteView). */
  private readonly viewSources = new Map<string, Set<string>>();

  constructor(private readonly target: ClusterTarget) {}

  /** Notes what a `CREATE MATERIALIZED VIEW ... TO t` reads; other statements are ignored here. */
  noteView(sql: string): void {
    const statement = new Statement(sql, '');
    if (!statement.startsWith('CREATE', 'MATERIALIZED', 'VIEW')) return;
    const index = statement.skipIfNotExists(3) + 1;
    if (!statement.isWord(index, 'TO')) return;
    const sources = this.viewSources.get(statement.word(index + 1)) ?? new Set<string>();
    for (let at = index + 2; at < statement.length - 1; at += 1) {
      if (statement.isWord(at, 'FROM') || statement.isWord(at, 'JOIN')) sources.add(statement.word(at + 1));
    }
    this.viewSources.set(statement.word(index + 1), sources);
  }

  /** The cluster statements for one single-node statement; `where` names it in errors. */
  statement(sql: string, where: string): string[] {
    const statement = new Statement(sql, where);
    if (statement.hasOnCluster()) statement.fail('it already says ON CLUSTER; migrations are written for one node and transformed');
    if (statement.startsWith('CREATE', 'TABLE')) return this.createTable(statement);
    if (statement.startsWith('CREATE', 'MATERIALIZED', 'VIEW')) return [this.createView(statement)];
    if (statement.startsWith('ALTER', 'TABLE')) return this.alterTable(statement);
    if (statement.startsWith('INSERT', 'INTO')) return [this.insertSelect(statement)];
    if (statement.startsWith('DROP', 'VIEW')) return [this.dropView(statement)];
    return statement.fail('the cluster transform does not understand this kind of statement');
  }

  private createTable(statement: Statement): string[] {
    let index = statement.skipIfNotExists(2);
    const name = statement.tableName(index);
    index += 1;
    if (!statement.isPunct(index, '(')) statement.fail(`expected the column list after ${name}`);
    const engineAt = statement.findWord('ENGINE', statement.closing(index) + 1);
    if (engineAt < 0 || !statement.isPunct(engineAt + 1, '=')) statement.fail('expected ENGINE = after the column list');
    const engine = statement.word(engineAt + 2);
    if (engine === 'Null') {
      this.layout.everywhere.add(name);
      return [statement.edit([{ after: index - 1, text: onCluster(this.target) }])];
    }
    if (!MERGE_TREE_ENGINES.has(engine)) {
      statement.fail(`engine ${engine} has no cluster form here (MergeTree-family engines become Replicated, Null stays on every node)`);
    }
    const hasArgs = statement.isPunct(engineAt + 3, '(');
    const engineArgs = hasArgs ? statement.inner(engineAt + 3).trim() : '';
    const engineEnd = hasArgs ? statement.closing(engineAt + 3) : engineAt + 2;
    const local = `${name}${LOCAL_SUFFIX}`;
    const path = quote(`/clickhouse/tables/{shard}/{database}/${name}`);
    const replicated = `Replicated${engine}(${[path, quote('{replica}'), ...(engineArgs ? [engineArgs] : [])].join(', ')})`;
    const edits: Edit[] = [
      { replace: [index - 1, index - 1], text: `${statement.text(index - 1)}${LOCAL_SUFFIX}${onCluster(this.target)}` },
      { replace: [engineAt + 2, engineEnd], text: replicated },
    ];
    for (let at = engineEnd + 1; at < statement.length; at += 1) {
      const renamed = DEDUP_WINDOW_SETTINGS.get(statement.word(at));
      if (renamed) edits.push({ replace: [at, at], text: renamed });
    }
    const shardingKey = this.fedShardingKey(name, columnNames(statement.inner(index))) ?? this.shardingKey(statement, engineEnd + 1);
    this.layout.sharded.set(name, shardingKey);
    const ifNotExists = statement.isWord(2, 'IF') ? ' IF NOT EXISTS' : '';
    const distributed =
      `CREATE TABLE${ifNotExists} ${name}${onCluster(this.target)} AS ${local}\n` +
      `ENGINE = Distributed(${[quote(this.target.cluster), quote(this.target.database), quote(local), shardingKey.expression].join(', ')})`;
    return [statement.edit(edits), distributed];
  }

  /** For a table a view on a sharded table feeds: that table's key if it has its columns, else rand(). */
  private fedShardingKey(name: string, columns: readonly string[]): ShardingKey | undefined {
    const sources = [...(this.viewSources.get(name) ?? [])].flatMap((source) => this.layout.sharded.get(source) ?? []);
    if (sources.length === 0) return undefined;
    const [first] = sources;
    const same = sources.every((key) => key.expression === first?.expression);
    return first && same && first.columns.length > 0 && first.columns.every((column) => columns.includes(column)) ? first : RANDOM_SHARD;
  }

  /** cityHash64(tenant, client_id) when the sort key holds both, else of the whole sort key. */
  private shardingKey(statement: Statement, from: number): ShardingKey {
    const orderAt = statement.findWord('ORDER', from);
    if (orderAt < 0 || !statement.isWord(orderAt + 1, 'BY')) statement.fail('expected ORDER BY: the sharding key is taken from the sort key');
    let end = orderAt + 2;
    while (end < statement.length && !(statement.depth(end) === 0 && TABLE_CLAUSES.has(statement.word(end).toUpperCase()))) end += 1;
    const key = statement.span(orderAt + 2, end - 1);
    const tuple = statement.isPunct(orderAt + 2, '(') && statement.closing(orderAt + 2) === end - 1;
    const columns = (tuple ? splitTopLevel(statement.inner(orderAt + 2)) : [key]).map((column) => column.trim()).filter((column) => column !== '');
    if (columns.length === 0 || /^tuple\(\s*\)$/i.test(key.trim())) statement.fail('ORDER BY tuple() gives no sharding key');
    const keyColumns = columns.includes('tenant') && columns.includes('client_id') ? ['tenant', 'client_id'] : columns;
    return { expression: `cityHash64(${keyColumns.join(', ')})`, columns: keyColumns };
  }

  private createView(statement: Statement): string {
    let index = statement.skipIfNotExists(3);
    const name = statement.tableName(index);
    index += 1;
    if (!statement.isWord(index, 'TO')) statement.fail('expected TO <table>: only views that write into a table of their own have a cluster form');
    const target = statement.tableName(index + 1);
    const asAt = statement.findWord('AS', index + 2);
    if (asAt < 0) statement.fail('expected AS SELECT');
    const { edits, readsSharded } = this.readLocalTables(statement, asAt + 1);
    if (readsSharded && !this.layout.sharded.has(target)) statement.fail(`it reads a sharded table but writes ${target}, which is not sharded`);
    if (!this.layout.sharded.has(target) && !this.layout.everywhere.has(target)) statement.fail(`it writes ${target}, which no earlier statement created`);
    this.layout.views.set(name, { readsSharded });
    edits.push({ after: index - 1, text: onCluster(this.target) });
    if (readsSharded) edits.push({ replace: [index + 1, index + 1], text: `${target}${LOCAL_SUFFIX}` });
    return statement.edit(edits);
  }

  /** A view's SELECT reads the shard's own rows: FROM/JOIN of a sharded table go to `_local`. */
  private readLocalTables(statement: Statement, from: number): { edits: Edit[]; readsSharded: boolean } {
    const edits: Edit[] = [];
    for (let at = from; at < statement.length - 1; at += 1) {
      if (!statement.isWord(at, 'FROM') && !statement.isWord(at, 'JOIN')) continue;
      if (statement.isPunct(at + 1, '(') || statement.isPunct(at + 2, '(')) continue; // a subquery or a table function
      const table = statement.tableName(at + 1);
      if (this.layout.sharded.has(table)) edits.push({ replace: [at + 1, at + 1], text: `${table}${LOCAL_SUFFIX}` });
      else if (!this.layout.everywhere.has(table)) statement.fail(`it reads ${table}, which no earlier statement created`);
    }
    return { edits, readsSharded: edits.length > 0 };
  }

  private alterTable(statement: Statement): string[] {
    const name = statement.tableName(2);
    const operations = statement.span(3, statement.length - 1);
    const view = this.layout.views.get(name);
    if (view) {
      const edits: Edit[] = [{ after: 2, text: onCluster(this.target) }];
      if (statement.isWord(3, 'MODIFY') && statement.isWord(4, 'QUERY')) {
        const query = this.readLocalTables(statement, 5);
        if (query.readsSharded !== view.readsSharded) statement.fail(`the new query of ${name} reads ${query.readsSharded ? 'a sharded' : 'no sharded'} table, the view was made otherwise`);
        edits.push(...query.edits);
      }
      return [statement.edit(edits)];
    }
    if (this.layout.everywhere.has(name)) return [statement.edit([{ after: 2, text: onCluster(this.target) }])];
    if (!this.layout.sharded.has(name)) statement.fail(`it alters ${name}, which no earlier statement created`);
    const kinds = splitTopLevel(operations).map((operation) => {
      const [verb = '', noun = ''] = operation.trim().split(/\s+/, 2).map((word) => word.toUpperCase());
      return { column: noun === 'COLUMN' && COLUMN_OPERATIONS.has(verb), drop: verb === 'DROP' };
    });
    // MODIFY SETTING of a dedup window names the Replicated engine's own setting (0017).
    const localOperations = [...DEDUP_WINDOW_SETTINGS].reduce((text, [single, replicated]) => text.split(single).join(replicated), operations);
    const local = `ALTER TABLE ${name}${LOCAL_SUFFIX}${onCluster(this.target)} ${localOperations}`;
    if (kinds.every((kind) => !kind.column)) return [local];
    if (!kinds.every((kind) => kind.column)) statement.fail('it mixes column changes (for the local and the Distributed table) with other changes (local only): split it');
    const distributed = `ALTER TABLE ${name}${onCluster(this.target)} ${operations}`;
    // A dropped column leaves the Distributed table first, an added one enters it last, so a
    // read through it never names a column that a shard lacks.
    return kinds.some((kind) => kind.drop) ? [distributed, local] : [local, distributed];
  }

  private dropView(statement: Statement): string {
    const index = statement.isWord(2, 'IF') && statement.isWord(3, 'EXISTS') ? 4 : 2;
    const name = statement.tableName(index);
    if (index + 1 !== statement.length) statement.fail('expected nothing after the view name (SYNC, PERMANENTLY, ... have no cluster form here)');
    if (!this.layout.views.delete(name)) statement.fail(`it drops ${name}, which no earlier statement created as a materialized view`);
    return statement.edit([{ after: index, text: onCluster(this.target) }]);
  }

  private insertSelect(statement: Statement): string {
    const name = statement.tableName(2);
    if (!this.layout.sharded.has(name)) statement.fail(`it inserts into ${name}, which is not a sharded table`);
    let selectAt = 3;
    if (statement.isPunct(3, '(')) selectAt = statement.closing(3) + 1;
    if (!statement.isWord(selectAt, 'SELECT')) statement.fail('only INSERT INTO <table> SELECT ... (a back-fill) has a cluster form');
    return statement.edit([{ after: selectAt - 1, text: ' SETTINGS distributed_foreground_insert = 1' }]);
  }
}

/** The column names of a CREATE TABLE's column list (indexes, constraints and projections left out). */
function columnNames(columnList: string): string[] {
  return splitTopLevel(columnList).flatMap((definition) => {
    const [first] = tokenize(definition).filter((token) => token.kind === 'word' || token.kind === 'quoted');
    if (!first || ['INDEX', 'CONSTRAINT', 'PROJECTION'].includes(first.text.toUpperCase())) return [];
    return [first.kind === 'quoted' ? first.text.slice(1, -1) : first.text];
  });
}

/** A ClickHouse string literal. */
function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Splits on commas outside parentheses, brackets and strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (const token of tokenize(text)) {
    if (token.kind !== 'punct') continue;
    if (token.text === '(' || token.text === '[') depth += 1;
    else if (token.text === ')' || token.text === ']') depth -= 1;
    else if (token.text === ',' && depth === 0) {
      parts.push(text.slice(start, token.start));
      start = token.end;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

type Edit = { readonly after: number; readonly text: string } | { readonly replace: readonly [number, number]; readonly text: string };

/** A statement as significant tokens (no spaces or comments) over its original text. */
class Statement {
  private readonly tokens: Token[];
  /** How many parentheses are open before each token. */
  private readonly depths: number[];

  constructor(
    private readonly sql: string,
    private readonly where: string,
  ) {
    this.tokens = tokenize(sql).filter((token) => token.kind !== 'space' && token.kind !== 'comment');
    let depth = 0;
    this.depths = this.tokens.map((token) => {
      const before = depth;
      if (token.kind === 'punct' && token.text === '(') depth += 1;
      else if (token.kind === 'punct' && token.text === ')') depth -= 1;
      return before;
    });
  }

  get length(): number {
    return this.tokens.length;
  }

  fail(reason: string): never {
    const head = this.sql.replace(/\s+/g, ' ').slice(0, 80);
    throw new ClusterDdlError(`${this.where} ("${head}${this.sql.length > 80 ? '...' : ''}"): ${reason}; extend shared/src/storage/cluster-ddl.ts`);
  }

  word(index: number): string {
    const token = this.tokens[index];
    return token?.kind === 'word' ? token.text : token?.kind === 'quoted' ? token.text.slice(1, -1) : '';
  }

  text(index: number): string {
    return this.tokens[index]?.text ?? '';
  }

  isWord(index: number, word: string): boolean {
    return this.tokens[index]?.kind === 'word' && this.word(index).toUpperCase() === word;
  }

  isPunct(index: number, punct: string): boolean {
    const token = this.tokens[index];
    return token?.kind === 'punct' && token.text === punct;
  }

  startsWith(...words: string[]): boolean {
    return words.every((word, index) => this.isWord(index, word));
  }

  hasOnCluster(): boolean {
    return this.tokens.some((_, index) => this.isWord(index, 'ON') && this.isWord(index + 1, 'CLUSTER'));
  }

  /** The index after `IF NOT EXISTS` when it stands at `index`, else `index`. */
  skipIfNotExists(index: number): number {
    return this.isWord(index, 'IF') && this.isWord(index + 1, 'NOT') && this.isWord(index + 2, 'EXISTS') ? index + 3 : index;
  }

  /** An unqualified table name at `index`; `db.table` is refused (the database is the connection's). */
  tableName(index: number): string {
    const name = this.word(index);
    if (name === '' || this.tokens[index]?.kind === 'quoted') this.fail(`expected a plain table name at "${this.text(index)}"`);
    if (this.isPunct(index + 1, '.')) this.fail(`table ${name}.${this.word(index + 2)} names a database; migrations use the connection's`);
    return name;
  }

  /** The first index from `from` on, outside parentheses, holding `word`; -1 if none. */
  findWord(word: string, from: number): number {
    for (let index = from; index < this.tokens.length; index += 1) {
      if (this.depth(index) === 0 && this.isWord(index, word)) return index;
    }
    return -1;
  }

  /** How many parentheses are open before the token at `index`. */
  depth(index: number): number {
    return this.depths[index] ?? 0;
  }

  /** The index of the parenthesis closing the one at `open`. */
  closing(open: number): number {
    let depth = 0;
    for (let index = open; index < this.tokens.length; index += 1) {
      if (this.isPunct(index, '(')) depth += 1;
      else if (this.isPunct(index, ')') && --depth === 0) return index;
    }
    return this.fail('unbalanced parentheses');
  }

  /** The source text between the parenthesis at `open` and its closing one. */
  inner(open: number): string {
    const close = this.closing(open);
    return this.sql.slice(this.tokens[open]?.end, this.tokens[close]?.start);
  }

  /** The source text of tokens `first` to `last`, inclusive. */
  span(first: number, last: number): string {
    return last < first ? '' : this.sql.slice(this.tokens[first]?.start, this.tokens[last]?.end);
  }

  /** The original text with edits applied; untouched text keeps its layout. */
  edit(edits: readonly Edit[]): string {
    const positioned = edits.map((edit) =>
      'after' in edit
        ? { start: this.tokens[edit.after]?.end ?? 0, end: this.tokens[edit.after]?.end ?? 0, text: edit.text }
        : { start: this.tokens[edit.replace[0]]?.start ?? 0, end: this.tokens[edit.replace[1]]?.end ?? 0, text: edit.text },
    );
    positioned.sort((a, b) => b.start - a.start);
    let result = this.sql;
    for (const { start, end, text } of positioned) result = `${result.slice(0, start)}${text}${result.slice(end)}`;
    return result;
  }
}

interface Token {
  readonly kind: 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct' | 'space' | 'comment';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const isWordStart = (char: string) => /[A-Za-z_]/.test(char);
const isWordChar = (char: string) => /[A-Za-z0-9_]/.test(char);

/**
 * SQL text as tokens, in one pass over the characters (linear): words, `quoted` identifiers,
 * 'strings' (backslash escapes and doubled quotes), numbers, {query:Parameters}, comments,
 * spaces and single punctuation characters.
 */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const push = (kind: Token['kind'], end: number) => {
    tokens.push({ kind, text: sql.slice(index, end), start: index, end });
    index = end;
  };
  /** The end of a run that ends at `close`, with backslash escapes; the text's end if unclosed. */
  const until = (close: string, from: number) => {
    let at = from;
    while (at < sql.length) {
      if (sql[at] === '\\') at += 2;
      else if (sql[at] === close) {
        if (close === "'" && sql[at + 1] === "'") at += 2;
        else return at + 1;
      } else at += 1;
    }
    return sql.length;
  };
  while (index < sql.length) {
    const char = sql[index] ?? '';
    if (/\s/.test(char)) {
      let end = index + 1;
      while (end < sql.length && /\s/.test(sql[end] ?? '')) end += 1;
      push('space', end);
    } else if (char === '-' && sql[index + 1] === '-') {
      const newline = sql.indexOf('\n', index);
      push('comment', newline < 0 ? sql.length : newline);
    } else if (char === '/' && sql[index + 1] === '*') {
      const close = sql.indexOf('*/', index + 2);
      push('comment', close < 0 ? sql.length : close + 2);
    } else if (char === "'") push('string', until("'", index + 1));
    else if (char === '`') push('quoted', until('`', index + 1));
    else if (char === '{') {
      const close = sql.indexOf('}', index);
      push('param', close < 0 ? sql.length : close + 1);
    } else if (isWordStart(char)) {
      let end = index + 1;
      while (end < sql.length && isWordChar(sql[end] ?? '')) end += 1;
      push('word', end);
    } else if (/[0-9]/.test(char)) {
      let end = index + 1;
      while (end < sql.length && /[0-9A-Za-z_.]/.test(sql[end] ?? '')) end += 1;
      push('number', end);
    } else push('punct', index + 1);
  }
  return tokens;
}
