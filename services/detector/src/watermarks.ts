import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';

const READ_WATERMARK = sql(import.meta.url, './read-watermark.sql');
const WRITE_WATERMARK = sql(import.meta.url, './write-watermark.sql');

const watermarkRow = z.object({ watermark: z.coerce.number().int() });

/** Where a detector got to (epoch ms of ingested_at), or undefined before its first tick. */
export async function readWatermark(client: ClickHouseClient, detector: string): Promise<number | undefined> {
  const [row] = await queryRows(client, READ_WATERMARK, { detector }, watermarkRow);
  return row?.watermark;
}

/** Written after the tick's alerts are stored: a crash in between re-examines, never skips. */
export async function writeWatermark(client: ClickHouseClient, detector: string, watermark: number): Promise<void> {
  await client.command({ query: WRITE_WATERMARK, query_params: { detector, watermark } });
}
