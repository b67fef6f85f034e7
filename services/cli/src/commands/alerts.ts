import { createInterface } from 'node:readline';
import { storedAlertSchema } from '@tokenwatch/shared/alerts/alert';
import { ALERTS_UPDATED_SINCE } from '@tokenwatch/detector/alerts-store';
import { renderAlertPlain } from '@tokenwatch/notifier/message';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { readOnlySql } from '@tokenwatch/server/read-only';
import type { CommandContext } from '../run.js';
import { parseTimeArg } from '../time-arg.js';

/** `tokenwatch alerts [--json] [--since <time>]`: alerts changed since a time (default 24h), oldest first. */
export async function alertsCommand({ settings }: CommandContext, options: { json?: boolean; since?: string; limit?: string }): Promise<void> {
  const since = parseTimeArg('--since', options.since ?? '24h');
  const result = await readOnlySql(settings, {
    query: ALERTS_UPDATED_SINCE,
    format: 'JSONEachRow',
    params: { since: toClickHouseTime(since), limit: Number(options.limit ?? 1_000) },
  });
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const alert = storedAlertSchema.parse(JSON.parse(line));
    process.stdout.write(options.json ? `${JSON.stringify(alert)}\n` : `${renderAlertPlain(alert)}\n\n`);
  }
}
