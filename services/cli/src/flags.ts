import type { z } from 'zod';
import { ConfigError } from '@tokenwatch/shared/errors';

/**
 * The one way a command's flags are checked: commander hands over strings, a zod schema
 * coerces and bounds them, and the first wrong one becomes a one-line error naming the flag
 * as it is typed (`--history-days`, not `historyDays`).
 */
export function parseFlags<S extends z.ZodType>(schema: S, flags: unknown): z.output<S> {
  const result = schema.safeParse(flags);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? 'option');
  const flag = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  const given = flags !== null && typeof flags === 'object' && key in flags ? ` ${JSON.stringify((flags as Record<string, unknown>)[key])}` : '';
  throw new ConfigError(`invalid --${flag}${given}: ${issue?.message ?? 'invalid value'}`);
}
