import text from '../../../../docs/investigations.md?raw';

/**
 * The saved queries of docs/investigations.md, bundled at build time so the page and the
 * document never differ: every ```sql block with the heading above it.
 */
export interface SavedQuery {
  readonly title: string;
  readonly sql: string;
}

export const SAVED_QUERIES: readonly SavedQuery[] = parse(text);

function parse(markdown: string): SavedQuery[] {
  const queries: SavedQuery[] = [];
  let heading = '';
  let block: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (block) {
      if (line.startsWith('```')) {
        queries.push({ title: heading, sql: block.join('\n').trim() });
        block = undefined;
      } else block.push(line);
    } else if (line.startsWith('```sql')) block = [];
    else if (/^#{2,4} /.test(line)) heading = line.replace(/^#+ /, '');
  }
  return queries;
}

/** The `{name:Type}` parameters of a query, in order of first use. */
export function parametersOf(sql: string): Array<{ name: string; type: string }> {
  const seen = new Map<string, string>();
  for (const match of sql.matchAll(/\{([A-Za-z_][A-Za-z0-9_]{0,63}):([^{}]{1,100})\}/g)) {
    const [, name, type] = match;
    if (name && type && !seen.has(name)) seen.set(name, type.trim());
  }
  return [...seen].map(([name, type]) => ({ name, type }));
}
