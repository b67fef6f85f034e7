import { z } from 'zod';
import { ConfigError } from '@tokenwatch/shared/errors';
import { redactText } from '@tokenwatch/shared/redact';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, WEEK_MS } from '@tokenwatch/shared/time';

/**
 * The one way a command's flags are checked: commander hands over strings, a zod schema per
 * command coerces and bounds them, and the first wrong one becomes a one-line error naming the
 * flag as it is typed (`--history-days`, not `historyDays`) and the value given.
 */
export function parseFlags<S extends z.ZodType>(schema: S, flags: unknown): z.output<S> {
  const result = schema.safeParse(flags);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? 'option');
  const flag = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  // A repeatable flag names the one value that is wrong.
  const value = flags !== null && typeof flags === 'object' && key in flags ? (flags as Record<string, unknown>)[key] : undefined;
  const index = issue?.path[1];
  const wrong = Array.isArray(value) && typeof index === 'number' ? value[index] : value;
  // Redacted: a wrong --upstream may still carry credentials in its URL.
  const given = wrong === undefined ? '' : ` ${redactText(JSON.stringify(wrong).slice(0, 512))}`;
  throw new ConfigError(`invalid --${flag}${given}: ${issue?.message ?? 'invalid value'}`);
}

const AGE_UNITS: Record<string, number> = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS };
const AGE = /^(\d{1,6})([mhdw])$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_PREFIX = /^\d{4}-\d{2}-\d{2}/;

/**
 * A time on the command line, as epoch ms: an RFC 3339 timestamp or date ("2026-11-20",
 * "2026-11-20T09:00:00Z"), or an age such as 30m, 24h, 7d, 2w meaning that long before now.
 */
export const timeFlag = (now: number = Date.now()) =>
  z.string().transform((text, context) => {
    const trimmed = text.trim();
    const age = AGE.exec(trimmed);
    if (age) return now - Number(age[1]) * (AGE_UNITS[age[2] ?? 'h'] ?? 0);
    const time = DATE_ONLY.test(trimmed) ? Date.parse(`${trimmed}T00:00:00Z`) : Date.parse(trimmed);
    if (DATE_PREFIX.test(trimmed) && Number.isFinite(time)) return time;
    context.addIssue({ code: 'custom', message: 'expected a date, an RFC 3339 time, or an age like 24h or 7d' });
    return z.NEVER;
  });

const DURATION_UNITS: Record<string, number> = { s: SECOND_MS, ...AGE_UNITS };
const DURATION = /^(\d{1,6})([smhdw])$/;

/** A length of time such as 30s, 15m, 4h, 7d or 2w, as milliseconds. */
export const durationFlag = z.string().transform((text, context) => {
  const match = DURATION.exec(text.trim());
  if (match) return Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 0);
  context.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 15m, 4h, 7d or 2w' });
  return z.NEVER;
});

const LISTEN = /^(?:\[([^\]]{1,64})\]|([^:[\]]{1,255})):(\d{1,5})$/;

/** `host:port` or `[ipv6]:port`, as a host and a port. */
export const listenFlag = z.string().transform((text, context) => {
  const match = LISTEN.exec(text.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (match && host && port >= 0 && port <= 65_535) return { host, port };
  context.addIssue({ code: 'custom', message: 'expected host:port' });
  return z.NEVER;
});
