import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows, sql } from '../sql.js';
import { toClickHouseTime } from '../time.js';
import { DEFAULT_MAX_WINDOW_EVENTS } from '../window-events.js';

/**
 * The per-client rollups (client_minute_counts, client_locations, clients, client_traits,
 * client_credentials, credential_days, client_asn_slots, jti_use_hours), rolled up from the
 * requests that arrived since the last refresh. Until migration 0017 materialized views fed them
 * on every insert into token_requests, which cost ingestion a quarter of its CPU (issue #16,
 * docs/benchmarks.md "rollups at the tick"); now the detector's tick and a backtest call
 * refreshRollups before they read them (the read-only IOC sweep adds the requests past the
 * watermark from token_requests instead), and ingestion writes token_requests only.
 * Each rollup's SELECT (one .sql file each, beside this module) is its view's SELECT as it was,
 * restricted to an arrival window, so the rows are the ones the view wrote.
 *
 * Exactly once. The rollups are aggregates (counts, sums, uniq states): a window rolled up twice
 * counts twice. So a refresh
 *   1. records the window it is about to roll up ('rollups:pending' = its end) before inserting,
 *   2. inserts each rollup with insert_deduplication_token 'rollup:<table>:<after>:<until>',
 *   3. then moves the watermark ('rollups' = the end).
 * A crash anywhere in between leaves pending ahead of the watermark; the next refresh rolls up
 * that same window first, with the same tokens, and the engine drops every insert that had
 * already landed (the rollup tables keep the last 1000 tokens: non_replicated_deduplication_window,
 * 0017). Dedup is per inserted block (per part, per partition), so each INSERT ... SELECT
 * squashes its result into one block: min_insert_block_size_rows = 10^9 in its SETTINGS, and a
 * window is bounded (maxWindowEvents) so that block stays small; the retry then produces the
 * same parts under the same tokens. Settings sit in each statement's SETTINGS clause: chDB makes
 * per-query clickhouse_settings session-wide.
 *
 * Refreshes are serialised within a process (one chain), so two callers never roll up
 * overlapping windows. Across processes they are not: one process per database should
 * refresh (the detector's leader, `tokenwatch start`); a CLI backtest run beside a running
 * service may race it (docs/detectors.md).
 *
 * Late rows: a request whose ingested_at is at or before the watermark but becomes visible only
 * after the refresh would never be rolled up; callers pass `until` behind now by the detectors'
 * safety lag, as the detectors do for their own windows.
 */

/** The fixed rollup names: they, and two integers, make the dedup tokens. */
const ROLLUPS = [
  { table: 'client_minute_counts', insert: sql(import.meta.url, './client-minute-counts.sql') },
  { table: 'client_locations', insert: sql(import.meta.url, './client-locations.sql') },
  { table: 'clients', insert: sql(import.meta.url, './clients.sql') },
  { table: 'client_traits', insert: sql(import.meta.url, './client-traits.sql') },
  { table: 'client_credentials', insert: sql(import.meta.url, './client-credentials.sql') },
  { table: 'credential_days', insert: sql(import.meta.url, './credential-days.sql') },
  { table: 'client_asn_slots', insert: sql(import.meta.url, './client-asn-slots.sql') },
  { table: 'jti_use_hours', insert: sql(import.meta.url, './jti-use-hours.sql') },
] as const;

export const ROLLUP_TABLES: readonly string[] = ROLLUPS.map(({ table }) => table);

const READ_PROGRESS = sql(import.meta.url, './read-progress.sql');
const WRITE_PROGRESS = sql(import.meta.url, './write-progress.sql');
const ARRIVED = sql(import.meta.url, './arrived.sql');
const ARRIVAL_CUT = sql(import.meta.url, './arrival-cut.sql');

/** Rows of detector_watermarks: 'rollups' (done) and 'rollups:pending' (the window in flight). */
const DONE = 'rollups';
const PENDING = 'rollups:pending';

const progressRow = z.object({ name: z.enum([DONE, PENDING]), watermark: z.coerce.number().int().nonnegative() });
const arrivedRow = z.object({ arrived: z.coerce.number().int().nonnegative() });
const cutRow = z.object({ ingested_ms: z.coerce.number().int() });

/** An arrival time in epoch ms: the only values besides the fixed table names in a dedup token. */
const arrivalMs = z.number().int().nonnegative().max(Date.UTC(9999, 0));

export interface RefreshOptions {
  /** Roll up arrivals up to this time (epoch ms of ingested_at), inclusive. */
  readonly until: number;
  /** Arrivals per window at most (about); DEFAULT_MAX_WINDOW_EVENTS when not given. */
  readonly maxWindowEvents?: number;
  /**
   * Windows this call rolls up at most (a retried pending one included); no bound when not
   * given. The detector's tick bounds it so that a tick after downtime or behind a back-fill
   * examines what it rolled up instead of rolling up the whole backlog first; it says `behind`
   * when it stopped short, and the next tick carries on. A backtest needs all of it.
   */
  readonly maxWindows?: number;
}

export interface RefreshResult {
  /** Where the rollups now stand: every request that arrived by then is rolled up. */
  readonly watermark: number;
  /** Windows rolled up by this call (a retried pending one included; empty ones not). */
  readonly windows: number;
  /** Stopped at maxWindows: arrivals up to `until` are still to roll up (the watermark is short of it). */
  readonly behind: boolean;
}

/**
 * The refresh in flight in this process, if any. One chain for the process, not one per client:
 * two clients of one process may well reach the same database (the tick's and an operator
 * action's backtest), and serialising refreshes of two databases costs nothing that matters.
 */
let chain: Promise<unknown> = Promise.resolve();

/** Rolls up what arrived up to `until`, window after window; one refresh at a time in this process. */
export function refreshRollups(client: ClickHouseClient, options: RefreshOptions): Promise<RefreshResult> {
  const next = chain.catch(() => undefined).then(() => refreshNow(client, options));
  chain = next;
  return next;
}

/** Where the rollups stand (epoch ms of ingested_at; 0 on a fresh database). */
export async function rollupWatermark(client: ClickHouseClient): Promise<number> {
  return (await readProgress(client)).done;
}

/** How many requests arrived in (after, until] (epoch ms of ingested_at). */
export async function arrivalsIn(client: ClickHouseClient, after: number, until: number): Promise<number> {
  const span = { after: toClickHouseTime(after), until: toClickHouseTime(until) };
  return (await queryRows(client, ARRIVED, span, arrivedRow))[0]?.arrived ?? 0;
}

async function refreshNow(
  client: ClickHouseClient,
  { until, maxWindowEvents = DEFAULT_MAX_WINDOW_EVENTS, maxWindows = Number.POSITIVE_INFINITY }: RefreshOptions,
): Promise<RefreshResult> {
  const bound = z.number().int().min(1).parse(maxWindowEvents);
  const windowsAtMost = z.union([z.number().int().min(1), z.literal(Number.POSITIVE_INFINITY)]).parse(maxWindows);
  const progress = await readProgress(client);
  let done = progress.done;
  let windows = 0;
  // A window recorded but not finished: roll it up again, same bounds, same tokens.
  if (progress.pending > done) {
    await rollUp(client, done, progress.pending);
    done = progress.pending;
    windows += 1;
  }
  let behind = false;
  while (done < until) {
    const { end, arrived } = await nextWindow(client, done, Math.floor(until), bound);
    if (arrived === 0) {
      // Nothing to roll up (most calls: every detector's tick refreshes): only move the watermark.
      // Also past the window bound: an empty span costs no window, and a refresh that says
      // `behind` over nothing would only make the service tick again for nothing.
      await writeProgress(client, DONE, end);
    } else if (windows >= windowsAtMost) {
      behind = true;
      break;
    } else {
      await writeProgress(client, PENDING, end);
      await rollUp(client, done, end);
      windows += 1;
    }
    done = end;
  }
  // A watermark ahead of `until` (the migration's, or another process's) is no licence to read past `until`.
  return { watermark: Math.min(done, until), windows, behind };
}

async function readProgress(client: ClickHouseClient): Promise<{ done: number; pending: number }> {
  const rows = await queryRows(client, READ_PROGRESS, {}, progressRow);
  const of = (name: string) => rows.find((row) => row.name === name)?.watermark ?? 0;
  return { done: of(DONE), pending: of(PENDING) };
}

async function writeProgress(client: ClickHouseClient, name: typeof DONE | typeof PENDING, watermark: number): Promise<void> {
  await client.command({ query: WRITE_PROGRESS, query_params: { name, watermark } });
}

/** (after, until], or shorter when more than `bound` requests arrived in it; with how many arrived in all. */
async function nextWindow(client: ClickHouseClient, after: number, until: number, bound: number): Promise<{ end: number; arrived: number }> {
  const arrived = await arrivalsIn(client, after, until);
  if (arrived <= bound) return { end: until, arrived };
  const span = { after: toClickHouseTime(after), until: toClickHouseTime(until) };
  const [cut] = await queryRows(client, ARRIVAL_CUT, { ...span, nth: bound - 1 }, cutRow);
  // The cut is an arrival after `after`, so a window is never empty and the refresh moves on.
  return { end: cut && cut.ingested_ms > after && cut.ingested_ms < until ? cut.ingested_ms : until, arrived };
}

/** Every rollup for (after, until], then the watermark. */
async function rollUp(client: ClickHouseClient, after: number, until: number): Promise<void> {
  const window = `${arrivalMs.parse(after)}:${arrivalMs.parse(until)}`;
  for (const { table, insert } of ROLLUPS) {
    await client.command({
      query: insert,
      query_params: { after: toClickHouseTime(after), until: toClickHouseTime(until), dedup_token: `rollup:${table}:${window}` },
    });
  }
  await writeProgress(client, DONE, until);
}
