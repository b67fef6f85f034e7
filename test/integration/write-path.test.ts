import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDecoded } from '@tokenwatch/ingest/store';
import { ok, type DecodeResult } from '@tokenwatch/ingest/results';
import { decodeCanonical } from '@tokenwatch/ingest/decode';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { describeRefusal, isRefusedData, RowsRefusedError } from '@tokenwatch/shared/storage/insert-errors';
import { TOKEN_REQUEST_COLUMNS } from '@tokenwatch/shared/storage/token-request-row';
import { canonicalEvent } from '../helpers/events.js';
import { openTestStorage } from '../helpers/storage.js';

// The write path against the real engine. Rows ClickHouse refuses are made here by changing
// the row's line after validation, so these tests hold whatever the schema comes to accept:
// storage must cope with a refused row whatever let it through.

const WEEK = 7 * 86_400_000;

interface Input {
  readonly id: number;
  /** Replaces the validated event's row line: what storage receives. */
  readonly spoil?: (line: string) => string;
  readonly time?: number;
}

/** Decodes the canonical event, then spoils its line as a buggy adapter or schema might. */
function decode(input: Input): DecodeResult[] {
  const event = canonicalEvent(input.id, input.time === undefined ? {} : { time: input.time });
  const [result] = decodeCanonical(JSON.stringify(event));
  if (result?.kind !== 'ok') throw new Error(`fixture ${input.id} does not decode`);
  return [ok({ ...result, line: input.spoil ? input.spoil(result.line) : result.line })];
}

/** The line with one column's text replaced (the columns are TOKEN_REQUEST_COLUMNS). */
const withColumn = (column: (typeof TOKEN_REQUEST_COLUMNS)[number], text: string) => (line: string) => {
  const fields = line.split('\t');
  fields[TOKEN_REQUEST_COLUMNS.indexOf(column)] = text;
  return fields.join('\t');
};
/** A row one field short: ClickHouse names its row ("(at row N)"). */
const MISSING_COLUMN = (line: string) => line.slice(0, line.lastIndexOf('\t'));
const UNKNOWN_OUTCOME = withColumn('outcome', 'maybe');
const BAD_ADDRESS = withColumn('source_ip', '999.1.1.1');

describe('the write path against ClickHouse', () => {
  let clickhouse: ClickHouse;
  const count = async (where: string) => {
    const result = await clickhouse.client.query({ query: `SELECT count() AS n FROM token_requests WHERE ${where}`, format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]?.n);
  };

  beforeAll(async () => {
    clickhouse = await openTestStorage('write-path');
  });
  afterAll(async () => {
    await clickhouse?.close();
  });

  it('classifies what ClickHouse says about the rows as refused data, with a one-line redacted reason', async () => {
    const lines = [1, 2, 3].map((id) => decode(id === 3 ? { id, spoil: MISSING_COLUMN } : { id })[0]).map((result) => (result?.kind === 'ok' ? result.line : ''));
    const error = await insertTokenRequests(clickhouse.client, lines, { dedupToken: 'refusal-probe', retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RowsRefusedError);
    const { reason, row } = error as RowsRefusedError;
    // (The redaction of reasons reads "ASSERTION_FAILED: Cannot" as an assertion's value.)
    expect(reason).toMatch(/^CANNOT_PARSE_INPUT_ASSERTION_FAILED: .*parse input: expected '\\t' before/);
    expect(reason).not.toContain('\n');
    // ClickHouse names the row, and bisection starts from it; in a long insert too (parsed in parallel chunks).
    expect(row).toBe(3);
    const many = Array.from({ length: 5_000 }, (_, i) => decode(i === 3_999 ? { id: 50_000 + i, spoil: MISSING_COLUMN } : { id: 50_000 + i })[0]);
    const refusedAt = await insertTokenRequests(clickhouse.client, many.map((result) => (result?.kind === 'ok' ? result.line : '')), { dedupToken: 'refusal-probe-many', retries: 0 }).catch((e: unknown) => e);
    expect((refusedAt as RowsRefusedError).row).toBe(4_000);
    // Not about the rows: a connection failure and a missing table are the infrastructure's.
    expect(isRefusedData(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toBe(false);
    const missing = await clickhouse.client.query({ query: 'SELECT * FROM no_such_table' }).catch((e: unknown) => e);
    expect(isRefusedData(missing)).toBe(false);
    // Credentials ClickHouse might quote are redacted.
    expect(describeRefusal(Object.assign(new Error("Unknown element 'Bearer abcdefghijklmnop' for enum"), { type: 'UNKNOWN_ELEMENT_OF_ENUM' }))).not.toContain('abcdefghijklmnop');
  });

  it('stores every valid row of a batch and returns each row ClickHouse refuses with its reason', async () => {
    const inputs: Input[] = Array.from({ length: 2_000 }, (_, i) => ({ id: 10_000 + i }));
    inputs[3] = { id: 10_003, spoil: MISSING_COLUMN };
    inputs[999] = { id: 10_999, spoil: UNKNOWN_OUTCOME };
    inputs[1_000] = { id: 11_000, spoil: BAD_ADDRESS };
    inputs[1_999] = { id: 11_999, spoil: MISSING_COLUMN };
    const outcome = await storeDecoded(inputs, decode, { clickhouse: clickhouse.client, source: 'wp:refused', retentionDays: 7_300 });
    expect(outcome.stored).toBe(1_996);
    expect(outcome.refusedByStorage).toBe(4);
    const reasons = new Map(outcome.rejected.map(({ record, reason }) => [record.id, reason]));
    expect([...reasons.keys()].sort()).toEqual([10_003, 10_999, 11_000, 11_999]);
    expect(reasons.get(10_003)).toMatch(/^refused by ClickHouse: CANNOT_PARSE_INPUT_ASSERTION_FAILED: /);
    expect(reasons.get(11_999)).toMatch(/^refused by ClickHouse: CANNOT_PARSE_INPUT_ASSERTION_FAILED: /);
    expect(reasons.get(10_999)).toMatch(/^refused by ClickHouse: UNKNOWN_ELEMENT_OF_ENUM: Unknown element 'maybe'/);
    expect(reasons.get(11_000)).toMatch(/^refused by ClickHouse: CANNOT_PARSE_IPV6: /);
    expect(await count("event_id LIKE 'evt-1____' AND event_id >= 'evt-10000' AND event_id < 'evt-12000'")).toBe(1_996);
    expect(await count("event_id IN ('evt-10003', 'evt-10999', 'evt-11000', 'evt-11999')")).toBe(0);
  });

  it('stores each row once when the same batch is written again after a split (a restart mid-split)', async () => {
    const inputs: Input[] = Array.from({ length: 500 }, (_, i) => ({ id: 20_000 + i, ...(i % 97 === 5 ? { spoil: UNKNOWN_OUTCOME } : {}) }));
    const first = await storeDecoded(inputs, decode, { clickhouse: clickhouse.client, source: 'wp:again', retentionDays: 7_300 });
    const again = await storeDecoded(inputs, decode, { clickhouse: clickhouse.client, source: 'wp:again', retentionDays: 7_300 });
    expect(again.inserts).toBe(first.inserts);
    expect(again.refusedByStorage).toBe(first.refusedByStorage);
    // Not FINAL: the repeated inserts were dropped by their tokens, not collapsed later.
    expect(await count("event_id >= 'evt-20000' AND event_id < 'evt-20500'")).toBe(first.stored);
  });

  it('stores a backfill spanning more than 100 weeks, each insert within the partition limit', async () => {
    const start = Date.UTC(2026, 10, 23);
    const inputs: Input[] = Array.from({ length: 600 }, (_, i) => ({ id: 30_000 + i, time: start - (i % 240) * WEEK }));
    const outcome = await storeDecoded(inputs, decode, { clickhouse: clickhouse.client, source: 'wp:weeks', retentionDays: 7_300 });
    expect(outcome.rejected).toEqual([]);
    expect(outcome.stored).toBe(600);
    expect(outcome.inserts).toBe(3);
    expect(await count("event_id >= 'evt-30000' AND event_id < 'evt-30600'")).toBe(600);
  });

  it('counts events older than the retention as expired instead of stored, and sends none of them', async () => {
    const now = Date.UTC(2026, 10, 29);
    const inputs: Input[] = [
      { id: 40_000, time: now - 10 * 86_400_000 },
      { id: 40_001, time: now - 100 * 86_400_000 },
      { id: 40_002, time: now - 400 * 86_400_000 },
    ];
    const outcome = await storeDecoded(inputs, decode, { clickhouse: clickhouse.client, source: 'wp:old', retentionDays: 90, now });
    expect({ stored: outcome.stored, expired: outcome.expired }).toEqual({ stored: 1, expired: 2 });
    expect(await count("event_id IN ('evt-40000', 'evt-40001', 'evt-40002')")).toBe(1);
  });
});
