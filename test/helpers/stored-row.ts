import { TOKEN_REQUEST_COLUMNS } from '@tokenwatch/shared/storage/token-request-row';

export type Column = (typeof TOKEN_REQUEST_COLUMNS)[number];
/** A row's values as ClickHouse reads them from the text: strings unescaped, arrays as arrays, `\N` as null. */
export type StoredColumns = Record<Column, string | string[] | null>;

const UNESCAPE: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', '0': '\0', '\\': '\\', "'": "'", b: '\b', f: '\f' };

/** ClickHouse's reading of an escaped value: `\x` is the character `x` stands for (or `x` itself). */
function unescape(text: string): string {
  return text.replace(/\\([\s\S])/g, (_match, char: string) => UNESCAPE[char] ?? char);
}

/** `['a','b\'c']` as ClickHouse reads an Array(String) field. */
function readArray(field: string): string[] {
  if (!field.startsWith('[') || !field.endsWith(']')) throw new Error(`not an array: ${field}`);
  const values: string[] = [];
  let i = 1;
  while (i < field.length - 1) {
    if (field[i] === ',') i += 1;
    if (field[i] !== "'") throw new Error(`expected a quoted string at ${i} of ${field}`);
    let value = '';
    i += 1;
    while (field[i] !== "'") {
      if (i >= field.length) throw new Error(`unterminated string in ${field}`);
      if (field[i] === '\\') {
        value += unescape(field.slice(i, i + 2));
        i += 2;
      } else {
        value += field[i];
        i += 1;
      }
    }
    values.push(value);
    i += 1;
  }
  return values;
}

/**
 * A TabSeparated token_requests row (encodeTokenRequestRow) read back as ClickHouse reads it,
 * for tests that look at what storage receives. Throws unless it has exactly one field per column.
 */
export function readRow(line: string): StoredColumns {
  if (/[\n\r\0]/.test(line)) throw new Error('a row holds an unescaped line feed, carriage return or NUL');
  const fields = line.split('\t');
  if (fields.length !== TOKEN_REQUEST_COLUMNS.length) throw new Error(`a row has ${fields.length} fields, not ${TOKEN_REQUEST_COLUMNS.length}`);
  const row = {} as StoredColumns;
  TOKEN_REQUEST_COLUMNS.forEach((column, i) => {
    const field = fields[i] as string;
    row[column] = column === 'scopes' ? readArray(field) : field === '\\N' ? null : unescape(field);
  });
  return row;
}

/** Every string a row stores (array elements included). */
export function rowStrings(row: StoredColumns): string[] {
  return Object.values(row).flatMap((value) => (value === null ? [] : Array.isArray(value) ? value : [value]));
}

/**
 * Strings that must survive the text format: every character TabSeparated gives a meaning to,
 * what looks like an escape or a NULL, quotes and brackets (arrays), a query parameter, astral
 * characters, and one of each control character.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  'tab\there',
  'line\nfeed',
  'carriage\rreturn\r\n',
  'nul\0byte',
  'back\\slash',
  '\\',
  '\\N',
  '\\t is not a tab',
  'ends with a backslash\\',
  "single ' quote",
  "'",
  '"double" quotes',
  "['not','an','array']",
  '[',
  ',',
  '{dedup_token:String}',
  '😀 astral 𝄞 and é ü ß 中文',
  '\u2028\u2029\uFEFF\u00A0',
  Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\x7F',
];
