import { createHash } from 'node:crypto';
import { RowsRefusedError } from '@tokenwatch/shared/storage/insert-errors';
import { MAX_PARTITIONS_PER_INSERT, partitionOf } from '@tokenwatch/shared/storage/token-requests';

/** What writeBatch needs of a row: its line (a token_requests row as text) and its time (which partition it lands in). */
export interface Row {
  readonly line: string;
  readonly time: number;
}

/** A row ClickHouse refused, with ClickHouse's reason (one line, redacted). */
export interface RefusedRow<R> {
  readonly row: R;
  readonly reason: string;
}

export interface WriteResult<R> {
  readonly stored: R[];
  readonly refused: RefusedRow<R>[];
  /** INSERT statements sent: 1 for a clean batch within the partition limit, more when split. */
  readonly inserts: number;
}

/**
 * One INSERT of row lines under a deduplication token. It must throw RowsRefusedError when
 * ClickHouse refuses the rows (insertTokenRequests does), and anything else when the
 * infrastructure failed, which writeBatch passes on untouched.
 */
export type InsertLines = (lines: readonly string[], dedupToken: string) => Promise<void>;

/**
 * Stores a batch so that no row can stop the rest:
 * - split by partition into inserts of at most MAX_PARTITIONS_PER_INSERT weeks each, since
 *   ClickHouse refuses a block that touches more (a backfill spanning two years);
 * - an insert ClickHouse refuses because of its rows is bisected until the refused rows are
 *   alone; those come back with ClickHouse's reason, the rest is stored. k bad rows among n
 *   cost about 2·k·log2(n) extra inserts.
 * Every insert's token is derived from `source` (where the batch came from: offsets, a file)
 * and the exact lines it carries, so a retry or a restart that rebuilds the same batch sends
 * the same inserts under the same tokens, and ClickHouse keeps each block once however far a
 * split had got. Infrastructure errors propagate: nothing is marked refused because of them.
 */
export async function writeBatch<R extends Row>(rows: readonly R[], source: string, insert: InsertLines): Promise<WriteResult<R>> {
  const stored: R[] = [];
  const refused: RefusedRow<R>[] = [];
  let inserts = 0;
  const insertOrBisect = async (part: readonly R[]): Promise<void> => {
    const lines = part.map((row) => row.line);
    inserts += 1;
    try {
      await insert(lines, dedupToken(source, lines));
      stored.push(...part);
    } catch (error) {
      if (!(error instanceof RowsRefusedError)) throw error;
      if (part.length === 1) {
        refused.push({ row: part[0] as R, reason: error.reason });
        return;
      }
      for (const smaller of splitAround(part, error.row)) await insertOrBisect(smaller);
    }
  };
  for (const group of groupByPartition(rows)) await insertOrBisect(group);
  return { stored, refused, inserts };
}

/** The suspect row (1-based hint) alone between the rows around it, or two halves without a usable hint. */
function splitAround<R>(part: readonly R[], row: number | undefined): R[][] {
  if (row !== undefined && Number.isInteger(row) && row >= 1 && row <= part.length) {
    return [part.slice(0, row - 1), part.slice(row - 1, row), part.slice(row)].filter((piece) => piece.length > 0);
  }
  const middle = Math.ceil(part.length / 2);
  return [part.slice(0, middle), part.slice(middle)];
}

/**
 * The rows in groups that each touch at most `maxPartitions` partitions: the whole batch
 * when it fits (the usual case: a batch spans a week or two), else consecutive weeks together.
 * Deterministic: the same rows always give the same groups, in the same order.
 */
export function groupByPartition<R extends Row>(rows: readonly R[], maxPartitions = MAX_PARTITIONS_PER_INSERT): R[][] {
  if (rows.length === 0) return [];
  const byPartition = new Map<number, R[]>();
  for (const row of rows) {
    const partition = partitionOf(row.time);
    const members = byPartition.get(partition);
    if (members) members.push(row);
    else byPartition.set(partition, [row]);
  }
  if (byPartition.size <= maxPartitions) return [[...rows]];
  const partitions = [...byPartition.keys()].sort((a, b) => a - b);
  const groups: R[][] = [];
  for (let start = 0; start < partitions.length; start += maxPartitions) {
    groups.push(partitions.slice(start, start + maxPartitions).flatMap((partition) => byPartition.get(partition) ?? []));
  }
  return groups;
}

/** `source` plus a hash of the lines: two clusters, or a re-created topic, with the same offsets still differ. */
export function dedupToken(source: string, lines: readonly string[]): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return `${source}#${hash.digest('hex')}`;
}
