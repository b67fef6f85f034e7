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
