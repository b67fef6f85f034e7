import { redactText } from '../redact.js';

/**
 * ClickHouse error types that are about the rows of an insert, never about the server: the same
 * rows are refused again however often they are sent, and other rows are not. Splitting the
 * batch finds the refused rows; everything else (a connection refused, a timeout, a full
 * disk, "too many parts", a missing table, a denied user) is the infrastructure's fault, is
 * retried, and never dead-letters a row.
 *
 * The list is deliberately narrow: errors that every row would trigger (an unknown column, a
 * type mismatch in the schema) are left out, so a schema bug pauses ingest instead of
 * dead-lettering the whole stream.
 */
const DATA_ERROR_TYPES = new Set([
  'CANNOT_PARSE_TEXT',
  'CANNOT_PARSE_ESCAPE_SEQUENCE', // a lone UTF-16 surrogate: "missing second part of surrogate pair"
  'CANNOT_PARSE_QUOTED_STRING',
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  'CANNOT_PARSE_DATE',
  'CANNOT_PARSE_DATETIME',
  'CANNOT_PARSE_NUMBER',
  'CANNOT_PARSE_BOOL',
  'CANNOT_PARSE_IPV4',
  'CANNOT_PARSE_IPV6',
  'CANNOT_PARSE_UUID',
  'CANNOT_READ_ARRAY_FROM_TEXT',
  'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN',
  'INCORRECT_DATA',
  'UNKNOWN_ELEMENT_OF_ENUM',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
  'ARGUMENT_OUT_OF_BOUND',
  'DECIMAL_OVERFLOW',
  'TOO_LARGE_STRING_SIZE',
  'TOO_LARGE_ARRAY_SIZE',
]);

/** "Too many partitions for single INSERT block": shares TOO_MANY_PARTS with "too many parts", a server overload. */
const PARTITION_LIMIT = /Too many partitions for single INSERT block/;

/** The fields @clickhouse/client's ClickHouseError carries (chDB bundles its own copy of the class, so no instanceof). */
interface ClickHouseErrorLike {
  readonly message: string;
  readonly type: string;
}

function asClickHouseError(error: unknown): ClickHouseErrorLike | undefined {
  if (!(error instanceof Error)) return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? { message: error.message, type } : undefined;
}

/** Whether ClickHouse refused an insert because of its rows (see DATA_ERROR_TYPES). */
export function isRefusedData(error: unknown): boolean {
  const clickhouse = asClickHouseError(error);
  if (!clickhouse) return false;
  return DATA_ERROR_TYPES.has(clickhouse.type) || (clickhouse.type === 'TOO_MANY_PARTS' && PARTITION_LIMIT.test(clickhouse.message));
}

const MAX_REASON = 300;

/**
 * ClickHouse's reason, fit for a dead-letter header: its first sentence (the stack of
 * processors after "while executing" helps nobody), one line, bounded, and redacted, since
 * ClickHouse quotes the value it could not read.
 */
export function describeRefusal(error: unknown): string {
  const clickhouse = asClickHouseError(error);
  // Bounded before any pattern runs: ClickHouse may quote a long value.
  const message = (clickhouse?.message ?? String(error)).slice(0, 4 * MAX_REASON);
  const head = message
    // ClickHouse's advice on its own settings is not for whoever reads the dead letter.
    .replace(/\s*In JSON input formats you can disable setting \w+ to [^:]*:/, '')
    .split(/\n|: while (?:executing|pushing)|: \(at row/i)[0] ?? message;
  const line = head.replace(/\s+/g, ' ').trim();
  const bounded = line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
  return redactText(clickhouse ? `${clickhouse.type}: ${bounded}` : bounded);
}

/**
 * The 1-based row ClickHouse names when it fails to parse one ("(at row 12346)"), undefined
 * when it does not (errors raised in the materialized view name no row). A hint only.
 */
export function refusedRow(error: unknown): number | undefined {
  const match = /\(at row (\d{1,9})\)/.exec(asClickHouseError(error)?.message.slice(0, 8_000) ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * An insert ClickHouse refused because of its rows; `reason` is describeRefusal's line, `row`
 * refusedRow's hint (1-based, within the insert's lines).
 */
export class RowsRefusedError extends Error {
  override readonly name = 'RowsRefusedError';
  constructor(
    readonly reason: string,
    readonly row?: number,
  ) {
    super(`ClickHouse refused the rows: ${reason}`);
  }
}
