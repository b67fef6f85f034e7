import { createInterface } from 'node:readline';
import { z } from 'zod';
import { storedAlertSchema } from '@tokenwatch/shared/alerts/alert';
import { ALERTS_UPDATED_SINCE } from '@tokenwatch/detector/alerts-store';
import { renderAlertPlain } from '@tokenwatch/notifier/message';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { parseFlags, timeFlag } from '../flags.js';
import type { CommandContext } from '../run.js';

const alertsFlags = z.object({
  since: timeFlag(),
  limit: z.coerce.number({ error: 'expected a whole number from 1 to 100000' }).int('expected a whole number from 1 to 100000').min(1).max(100_000),
  json: z.boolean().optional(),
});

/** `tokenwatch alerts [--json] [--since <time>] [--limit <n>]`: alerts changed since a time (default 24h), oldest first. */
export async function alertsCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(alertsFlags, flags);
  const result = await readOnlySql(settings, {
    query: ALERTS_UPDATED_SINCE,
    format: 'JSONEachRow',
    params: { since: toClickHouseTime(options.since), limit: options.limit },
  });
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const alert = storedAlertSchema.parse(JSON.parse(line));
    process.stdout.write(options.json ? `${JSON.stringify(alert)}\n` : `${renderAlertPlain(alert)}\n\n`);
  }
}
