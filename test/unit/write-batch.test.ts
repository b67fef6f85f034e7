import { describe, expect, it } from 'vitest';
import { dedupToken, groupByPartition, writeBatch, type InsertLines } from '@tokenwatch/ingest/write-batch';
import { chunkByBytes } from '@tokenwatch/shared/kafka/requests';
import { RowsRefusedError } from '@tokenwatch/shared/storage/insert-errors';
import { DependencyError } from '@tokenwatch/shared/errors';
import { MAX_PARTITIONS_PER_INSERT, partitionOf } from '@tokenwatch/shared/storage/token-requests';

const WEEK = 7 * 86_400_000;
const MONDAY = Date.UTC(2026, 10, 23); // a Monday, 00:00 UTC

const row = (i: number, time = MONDAY + i) => ({ line: `e-${i}`, time, i });

/**
 * An insert that behaves like ClickHouse at the level writeBatch sees it: a block holding any
 * refused line fails whole with RowsRefusedError, otherwise every line is kept. Records every call.
 */
function fakeStorage(refused: (line: string) => boolean, { namesRow = false, rowOffset = 0 } = {}) {
  const calls: { lines: readonly string[]; token: string }[] = [];
  const stored: string[] = [];
  const insert: InsertLines = async (lines, token) => {
    calls.push({ lines, token });
    const bad = lines.findIndex(refused);
    if (bad >= 0) throw new RowsRefusedError(`refused ${lines[bad]}`, namesRow ? bad + 1 + rowOffset : undefined);
    stored.push(...lines);
  };
  return { insert, calls, stored };
}

describe('partitionOf', () => {
  it('puts a whole Monday-to-Sunday UTC week in one partition, as toMonday(time) does', () => {
    const sunday = MONDAY + WEEK - 1;
    expect(partitionOf(MONDAY)).toBe(partitionOf(sunday));
    expect(partitionOf(MONDAY - 1)).toBe(partitionOf(MONDAY) - 1);
    expect(partitionOf(MONDAY + WEEK)).toBe(partitionOf(MONDAY) + 1);
    // 1970-01-01 was a Thursday: its week began on Monday 1969-12-29.
    expect(partitionOf(0)).toBe(partitionOf(Date.UTC(1969, 11, 29)));
  });
});

describe('groupByPartition', () => {
  it('keeps a batch within the limit whole, in its order', () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(i, MONDAY + (i % 3) * WEEK));
    expect(groupByPartition(rows)).toEqual([rows]);
  });

  it('splits a batch over more weeks than the limit into groups of consecutive weeks, none over it', () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => row(i, MONDAY - (i % 250) * WEEK));
    const groups = groupByPartition(rows);
    expect(groups).toHaveLength(3);
    for (const group of groups) expect(new Set(group.map((r) => partitionOf(r.time))).size).toBeLessThanOrEqual(MAX_PARTITIONS_PER_INSERT);
    expect(groups.flat().map((r) => r.i).sort((a, b) => a - b)).toEqual(rows.map((r) => r.i));
    // Deterministic: the same rows give the same groups.
    expect(groupByPartition([...rows])).toEqual(groups);
  });
});

describe('writeBatch', () => {
  it('sends a clean batch as one insert', async () => {
    const storage = fakeStorage(() => false);
    const rows = Array.from({ length: 100 }, (_, i) => row(i));
    const result = await writeBatch(rows, 'src', storage.insert);
    expect(result.inserts).toBe(1);
    expect(result.refused).toEqual([]);
    expect(result.stored).toEqual(rows);
  });

  it('finds every refused row by bisection, stores all the others once, and keeps ClickHouse reason', async () => {
    const bad = new Set([0, 17, 18, 500, 999]);
    const storage = fakeStorage((line) => [...bad].some((i) => line === `e-${i}`));
    const rows = Array.from({ length: 1_000 }, (_, i) => row(i));
    const result = await writeBatch(rows, 'src', storage.insert);
    expect(result.refused.map((r) => r.row.i).sort((a, b) => a - b)).toEqual([...bad]);
    expect(result.refused.find((r) => r.row.i === 17)?.reason).toBe('refused e-17');
    expect(storage.stored).toHaveLength(1_000 - bad.size);
    expect(new Set(storage.stored).size).toBe(storage.stored.length);
    expect(result.stored).toHaveLength(1_000 - bad.size);
    // Bisection, not row by row: about 2·k·log2(n) inserts.
    expect(result.inserts).toBeLessThan(2 * bad.size * Math.ceil(Math.log2(1_000)) + 1);
    expect(result.inserts).toBe(storage.calls.length);
  });

  it('tries the row ClickHouse names alone first, and survives a wrong hint', async () => {
    const bad = new Set([17, 500, 999]);
    const refused = (line: string) => [...bad].some((i) => line === `e-${i}`);
    const rows = Array.from({ length: 1_000 }, (_, i) => row(i));
    const hinted = await writeBatch(rows, 'src', fakeStorage(refused, { namesRow: true }).insert);
    expect(hinted.refused.map((r) => r.row.i)).toEqual([17, 500, 999]);
    expect(hinted.stored).toHaveLength(997);
    expect(hinted.inserts).toBeLessThanOrEqual(3 * bad.size + 1);
    for (const rowOffset of [1, -1, 5_000]) {
      const storage = fakeStorage(refused, { namesRow: true, rowOffset });
      const misled = await writeBatch(rows, 'src', storage.insert);
      expect(misled.refused.map((r) => r.row.i).sort((a, b) => a - b)).toEqual([17, 500, 999]);
      expect(new Set(storage.stored).size).toBe(997);
    }
  });

  it('refuses a lone bad row and an all-bad batch without looping', async () => {
    const one = await writeBatch([row(1)], 'src', fakeStorage(() => true).insert);
    expect(one.refused).toHaveLength(1);
    const all = await writeBatch(Array.from({ length: 64 }, (_, i) => row(i)), 'src', fakeStorage(() => true).insert);
    expect(all.refused).toHaveLength(64);
    expect(all.inserts).toBe(127); // every node of the bisection tree, once
  });

  it('splits by partition before inserting, and bisects within a partition group', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(i, MONDAY - i * WEEK));
    const storage = fakeStorage((line) => line === 'e-250');
    const result = await writeBatch(rows, 'src', storage.insert);
    expect(result.refused.map((r) => r.row.i)).toEqual([250]);
    expect(result.stored).toHaveLength(299);
    for (const { lines } of storage.calls) expect(lines.length).toBeLessThanOrEqual(MAX_PARTITIONS_PER_INSERT);
  });

  it('sends the same inserts under the same tokens when a batch is written again (restart mid-split)', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => row(i, MONDAY - (i % 150) * WEEK));
    const refused = (line: string) => line.endsWith('-7"}') || line.endsWith('-123"}');
    const first = fakeStorage(refused);
    const second = fakeStorage(refused);
    await writeBatch(rows, 'topic:0:100-299', first.insert);
    await writeBatch(rows, 'topic:0:100-299', second.insert);
    expect(second.calls.map((c) => c.token)).toEqual(first.calls.map((c) => c.token));
    // Every insert of the split has its own token: distinct blocks are never taken for retries of each other.
    expect(new Set(first.calls.map((c) => c.token)).size).toBe(first.calls.length);
  });

  it('passes an infrastructure error on without marking any row refused', async () => {
    let calls = 0;
    const insert: InsertLines = async () => {
      calls += 1;
      if (calls === 1) throw new RowsRefusedError('bad row');
      throw new DependencyError('ClickHouse unreachable');
    };
    await expect(writeBatch(Array.from({ length: 8 }, (_, i) => row(i)), 'src', insert)).rejects.toBeInstanceOf(DependencyError);
  });
});

describe('dedupToken', () => {
  it('depends on the source and on the exact lines', () => {
    const lines = ['{"a":1}', '{"b":2}'];
    expect(dedupToken('t:0:1-2', lines)).toBe(dedupToken('t:0:1-2', [...lines]));
    expect(dedupToken('t:0:1-2', lines)).not.toBe(dedupToken('t:0:1-3', lines));
    // Same offsets, other content (another cluster, a re-created topic): another token.
    expect(dedupToken('t:0:1-2', lines)).not.toBe(dedupToken('t:0:1-2', ['{"a":1}', '{"b":3}']));
    expect(dedupToken('t:0:1-2', ['ab', 'c'])).not.toBe(dedupToken('t:0:1-2', ['a', 'bc']));
  });
});

describe('chunkByBytes', () => {
  it('bounds every request in bytes, sends an item larger than the bound alone, and keeps order', () => {
    const items = [300, 300, 300, 1_500, 100, 900, 100].map((bytes, i) => ({ bytes, i }));
    const chunks = chunkByBytes(items, (item) => item.bytes, { maxBytes: 1_000 });
    expect(chunks.map((chunk) => chunk.map((item) => item.i))).toEqual([[0, 1, 2], [3], [4, 5], [6]]);
    for (const chunk of chunks) if (chunk.length > 1) expect(chunk.reduce((sum, item) => sum + item.bytes, 0)).toBeLessThanOrEqual(1_000);
  });

  it('bounds every request in messages too', () => {
    const items = [1, 1, 1, 1, 1].map((bytes, i) => ({ bytes, i }));
    expect(chunkByBytes(items, (item) => item.bytes, { maxBytes: 1_000, maxCount: 2 }).map((chunk) => chunk.map((item) => item.i))).toEqual([[0, 1], [2, 3], [4]]);
    expect(chunkByBytes([], () => 1, { maxBytes: 1 })).toEqual([]);
  });
});
