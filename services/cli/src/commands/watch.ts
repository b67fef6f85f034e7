import { createInterface } from 'node:readline';
import { z } from 'zod';
import { WATCHES, watchIdSchema, watchSchema, type Watch } from '@tokenwatch/detector/watch/watch-list';
import { operatorAction } from '@tokenwatch/server/operator';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { parseFlags, timeFlag } from '../flags.js';
import { operatorName } from '../operator.js';
import type { CommandContext } from '../run.js';

const text = (max: number) => z.string().trim().min(1, 'is empty').max(max, `is longer than ${max.toLocaleString('en')} characters`);

const addFlags = (now: number) =>
  z
    .object({
      tenant: text(256),
      client: text(256),
      credential: text(256).optional(),
      since: timeFlag(now).optional(),
      until: timeFlag(now).optional(),
      reason: text(1_000),
    })
    .refine((flags) => flags.until === undefined || flags.until > (flags.since ?? now), { path: ['until'], message: 'must be after --since' });

const listFlags = z.object({ json: z.boolean().optional() });

/**
 * `tokenwatch watch add --tenant <t> --client <id> [--credential <id>] [--since <time>]
 * [--until <time>] --reason <text>`: puts a client (or one of its credentials) on the watch
 * list; watched_credential raises a critical alert for each of its requests from --since
 * (default now). A past --since also searches what is already stored, at once.
 */
export async function watchAddCommand({ settings, logger }: CommandContext, flags: unknown): Promise<void> {
  const now = Date.now();
  const options = parseFlags(addFlags(now), flags);
  const result = await operatorAction(settings, logger, {
    action: 'watch_add',
    watch: {
      tenant: options.tenant,
      client_id: options.client,
      ...(options.credential === undefined ? {} : { credential_id: options.credential }),
      since: options.since ?? now,
      ...(options.until === undefined ? {} : { until: options.until }),
      reason: options.reason,
      added_by: operatorName(),
    },
  });
  if (!('watch' in result)) throw new Error('watch add: unexpected answer');
  process.stdout.write(`${result.watch.watch_id}\n`);
  const found = result.raised ?? 0;
  process.stderr.write(
    `watching ${describe(result.watch)} from ${new Date(result.watch.since).toISOString()}` +
      `${result.watch.since < now ? `; ${found} alert${found === 1 ? '' : 's'} raised for what already happened` : ''}\n`,
  );
}

/** `tokenwatch watch list [--json]`: every watch, removed ones too, oldest first. */
export async function watchListCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(listFlags, flags);
  const result = await readOnlySql(settings, { query: WATCHES, format: 'JSONEachRow' });
  const now = Date.now();
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const watch = watchSchema.parse(JSON.parse(line));
    process.stdout.write(options.json ? `${JSON.stringify(asJson(watch))}\n` : `${renderWatch(watch, now)}\n`);
  }
}

/** `tokenwatch watch remove <id>`: ends a watch (kept, marked removed, with who removed it). */
export async function watchRemoveCommand({ settings, logger }: CommandContext, id: string): Promise<void> {
  const watchId = parseFlags(z.object({ id: watchIdSchema }), { id }).id;
  const result = await operatorAction(settings, logger, { action: 'watch_remove', removal: { watch_id: watchId, removed_by: operatorName() } });
  if (!('watch' in result)) throw new Error('watch remove: unexpected answer');
  process.stderr.write(`removed ${result.watch.watch_id} (${describe(result.watch)})\n`);
}

function describe(watch: Pick<Watch, 'tenant' | 'client_id' | 'credential_id'>): string {
  return `${watch.credential_id ? `credential ${watch.credential_id} of ` : ''}client ${watch.client_id} in ${watch.tenant}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function asJson(watch: Watch) {
  return {
    ...watch,
    since: iso(watch.since),
    until: iso(watch.until),
    added_at: iso(watch.added_at),
    removed_at: iso(watch.removed_at),
    updated_at: iso(watch.updated_at),
  };
}

function renderWatch(watch: Watch, now: number): string {
  const state = watch.removed
    ? `removed by ${watch.removed_by} at ${iso(watch.removed_at)}`
    : watch.until !== null && watch.until <= now
      ? 'ended'
      : watch.since > now
        ? 'starts later'
        : 'active';
  return (
    `${watch.watch_id}  ${state}  ${describe(watch)}  from ${iso(watch.since)}${watch.until === null ? '' : ` until ${iso(watch.until)}`}\n` +
    `    added by ${watch.added_by} at ${iso(watch.added_at)}: ${watch.reason}`
  );
}
