import { ConfigError } from '@tokenwatch/shared/errors';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS } from '@tokenwatch/shared/time';

const UNITS: Record<string, number> = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS };

/**
 * A time given on the command line: an RFC 3339 timestamp or date ("2026-11-20",
 * "2026-11-20T09:00:00Z"), or an age such as 30m, 24h, 7d, 2w meaning that long before now.
 */
export function parseTimeArg(option: string, text: string, now = Date.now()): number {
  const age = /^(\d+)([mhdw])$/.exec(text.trim());
  if (age) return now - Number(age[1]) * (UNITS[age[2] ?? 'h'] ?? 0);
  const time = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(time)) return time;
  throw new ConfigError(`invalid ${option} ${JSON.stringify(text)}: expected a date, an RFC 3339 time, or an age like 24h or 7d`);
}
