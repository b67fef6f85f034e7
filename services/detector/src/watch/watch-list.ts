import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { QueryError } from '@tokenwatch/shared/errors';
import { insertLines, queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';

/**
 * The watch list: clients, or one credential of a client, known to be compromised (leaked in a
 * repository, named in an advisory). watched_credential alerts on every request from one in
 * [since, until). Stored in `watch_list` (migration 0009) as versions of each watch, so adding
 * and removing are both appends and the history of who did what stays readable.
 */

const INSERT_WATCH = sql(import.meta.url, './insert-watch.sql');
export const WATCHES = sql(import.meta.url, './watches.sql');
const WATCH_BY_ID = sql(import.meta.url, './watch-by-id.sql');

/** Identifiers as the events carry them (TokenRequest bounds them the same way). */
const identifier = (what: string) => z.string().trim().min(1, `${what} is empty`).max(256, `${what} is longer than 256 characters`);

export const WATCH_ID = /^w-[0-9a-f]{12}$/;
export const watchIdSchema = z.string().regex(WATCH_ID, 'expected a watch id such as w-0123456789ab (tokenwatch watch list)');

/** What `tokenwatch watch add` asks for, with times as epoch ms. */
export const newWatchSchema = z
  .strictObject({
    tenant: identifier('the tenant'),
    client_id: identifier('the client id'),
    credential_id: identifier('the credential id').optional(),
    since: z.number().int().nonnegative(),
    until: z.number().int().nonnegative().optional(),
    reason: z.string().trim().min(1, 'say why the client is watched (--reason)').max(1_000, 'the reason is longer than 1,000 characters'),
    added_by: z.string().min(1).max(256),
  })
  .refine((watch) => watch.until === undefined || watch.until > watch.since, { path: ['until'], message: 'must be after --since' });
export type NewWatch = z.input<typeof newWatchSchema>;

/** What a removal names: the watch and who removes it. */
export const watchRemovalSchema = z.strictObject({ watch_id: watchIdSchema, removed_by: z.string().min(1).max(256) });
export type WatchRemoval = z.input<typeof watchRemovalSchema>;

const nullableTime = clickHouseTimeSchema.nullable();

/** One watch as stored (its newest version), times as epoch ms. */
export const watchSchema = z.object({
  watch_id: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  credential_id: z.string(),
  since: clickHouseTimeSchema,
  until: nullableTime,
  reason: z.string(),
  added_by: z.string(),
  added_at: clickHouseTimeSchema,
  removed: z.boolean(),
  removed_by: z.string(),
  removed_at: nullableTime,
  updated_at: clickHouseTimeSchema,
});
export type Watch = z.output<typeof watchSchema>;

/** A watch as it travels between processes (the query server's answer): times as epoch ms. */
export const watchJsonSchema = z.strictObject({
  watch_id: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  credential_id: z.string(),
  since: z.number(),
  until: z.number().nullable(),
  reason: z.string(),
  added_by: z.string(),
  added_at: z.number(),
  removed: z.boolean(),
  removed_by: z.string(),
  removed_at: z.number().nullable(),
  updated_at: z.number(),
});

export async function addWatch(client: ClickHouseClient, input: NewWatch, now = Date.now()): Promise<Watch> {
  const watch = newWatchSchema.parse(input);
  const stored: Watch = {
    watch_id: `w-${randomBytes(6).toString('hex')}`,
    tenant: watch.tenant,
    client_id: watch.client_id,
    credential_id: watch.credential_id ?? '',
    since: watch.since,
    until: watch.until ?? null,
    reason: watch.reason,
    added_by: watch.added_by,
    added_at: now,
    removed: false,
    removed_by: '',
    removed_at: null,
    updated_at: now,
  };
  await writeWatch(client, stored);
  return stored;
}

/** Marks a watch removed (a new version); refuses an unknown or already removed id. */
export async function removeWatch(client: ClickHouseClient, input: WatchRemoval, now = Date.now()): Promise<Watch> {
  const removal = watchRemovalSchema.parse(input);
  const [current] = await queryRows(client, WATCH_BY_ID, { watch_id: removal.watch_id }, watchSchema);
  if (!current) throw new QueryError(`no watch ${removal.watch_id} (tokenwatch watch list shows them)`);
  if (current.removed) throw new QueryError(`watch ${removal.watch_id} was already removed by ${current.removed_by}`);
  // A version in the same millisecond as the last one would tie in ReplacingMergeTree.
  const at = Math.max(now, current.updated_at + 1);
  const removed: Watch = { ...current, removed: true, removed_by: removal.removed_by, removed_at: at, updated_at: at };
  await writeWatch(client, removed);
  return removed;
}

export async function readWatches(client: ClickHouseClient): Promise<Watch[]> {
  return queryRows(client, WATCHES, {}, watchSchema);
}

async function writeWatch(client: ClickHouseClient, watch: Watch): Promise<void> {
  const time = (ms: number | null) => (ms === null ? null : toClickHouseTime(ms));
  await insertLines(client, INSERT_WATCH, [
    JSON.stringify({
      ...watch,
      since: time(watch.since),
      until: time(watch.until),
      added_at: time(watch.added_at),
      removed_at: time(watch.removed_at),
      updated_at: time(watch.updated_at),
    }),
  ]);
}
