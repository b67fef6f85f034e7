import { z } from 'zod';

/**
 * Epoch milliseconds as ClickHouse DateTime64(3) text in UTC ("2026-11-28 03:51:59.123"): the
 * form JSONEachRow returns and every DateTime64 parameter and column accepts.
 */
export function toClickHouseTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** The reverse of toClickHouseTime, for DateTime/DateTime64 text read from ClickHouse (UTC). */
export function fromClickHouseTime(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/**
 * A DateTime/DateTime64 column as JSONEachRow returns it (UTC text, at most 9 fraction digits),
 * read as epoch milliseconds: the one schema for every row that carries such a time.
 */
export const clickHouseTimeSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/, 'expected ClickHouse DateTime64 text "YYYY-MM-DD hh:mm:ss[.fff]"')
  .transform((text, context) => {
    const ms = fromClickHouseTime(text);
    if (Number.isFinite(ms)) return ms;
    context.addIssue({ code: 'custom', message: `not a valid time: ${text}` });
    return z.NEVER;
  });
