import { describe, expect, it } from 'vitest';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';

describe('clickHouseTimeSchema', () => {
  it('reads DateTime and DateTime64 text as epoch ms, the reverse of toClickHouseTime', () => {
    const ms = Date.UTC(2026, 10, 28, 3, 51, 59, 123);
    expect(clickHouseTimeSchema.parse(toClickHouseTime(ms))).toBe(ms);
    expect(clickHouseTimeSchema.parse('2026-11-28 03:51:59')).toBe(ms - 123);
    expect(clickHouseTimeSchema.parse('1970-01-01 00:00:00.000')).toBe(0);
  });

  it.each([
    ['an ISO time', '2026-11-28T03:51:59.123Z'],
    ['more than 9 fraction digits', `2026-11-28 03:51:59.${'1'.repeat(10)}`],
    ['trailing text', '2026-11-28 03:51:59.123 UTC'],
    ['an impossible month', '2026-13-28 03:51:59'],
    ['an empty string', ''],
  ])('rejects %s', (_kind, text) => {
    expect(clickHouseTimeSchema.safeParse(text).success).toBe(false);
  });

  it('rejects a long hostile string quickly (the regex is linear)', () => {
    const started = performance.now();
    expect(clickHouseTimeSchema.safeParse(`2026-11-28 03:51:59.${'9'.repeat(100_000)}x`).success).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
