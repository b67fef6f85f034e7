import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS } from '@tokenwatch/shared/time';
import { readAlertActivity } from '../alerts.js';
import { markersOf } from './markers.js';
import { pictureKindOf, pictureSchema, type GridRow, type Picture, type PictureKind } from './kinds.js';

const VOLUME_BUCKETS = sql(import.meta.url, './volume-buckets.sql');
const JTI_USES = sql(import.meta.url, './jti-uses.sql');
const NETWORKS_DAYS = sql(import.meta.url, './networks-days.sql');
const ASN_SLOTS = sql(import.meta.url, './asn-slots.sql');
const TRAITS_WEEKS = sql(import.meta.url, './traits-weeks.sql');
const CREDENTIAL_DAYS = sql(import.meta.url, './credential-days.sql');

/** Rows a grid shows; its SQL reads one more to know it cut. */
const GRID_ROWS = 40;
const JTI_USES_SHOWN = 200;
const DAYS_SHOWN = 30;
const WEEKS_SHOWN = 12;
/** The volume picture: half a day before the alert's bucket to six hours after, at most three days. */
const VOLUME_BEFORE_MS = 12 * HOUR_MS;
const VOLUME_AFTER_MS = 6 * HOUR_MS;
const VOLUME_MAX_MS = 3 * DAY_MS;
/** client_asn_slots' slot (SLOT_MINUTES of the concurrent_networks detector). */
const SLOT_MS = 5 * MINUTE_MS;

export interface PictureSettings {
  /** The error codes invalid_client_burst counts as failed client authentication (its config). */
  readonly burstFailureCodes: readonly string[];
  /** Now (epoch ms): a picture never draws the future as silence. */
  readonly now: number;
}

/** What the page draws for an alert: the picture that fits its finding (kinds.ts), validated on the way out. */
export async function readAlertPicture(client: ClickHouseClient, alert: StoredAlert, settings: PictureSettings): Promise<Picture> {
  const kind = pictureKindOf(alert.finding);
  return pictureSchema.parse(await READERS[kind](client, alert, settings));
}

type Reader = (client: ClickHouseClient, alert: StoredAlert, settings: PictureSettings) => Promise<Picture>;

const READERS: Record<PictureKind, Reader> = {
  volume_band: readVolumeBand,
  jti_timeline: readJtiTimeline,
  networks_days: readNetworksDays,
  asn_slots: readAsnSlots,
  traits_weeks: readTraitsWeeks,
  credentials_timeline: readCredentialsTimeline,
  activity: readActivity,
};

const key = (alert: StoredAlert) => ({ tenant: alert.tenant, client: alert.client_id });
const dateOf = (ms: number) => toClickHouseTime(ms).slice(0, 10);
const startOfDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
/** The 30 days that end with the alert's last day. */
function daysAround(alert: StoredAlert): { from: number; to: number; columns: number[] } {
  const to = startOfDay(alert.last_seen) + DAY_MS;
  const from = to - DAYS_SHOWN * DAY_MS;
  return { from, to, columns: Array.from({ length: DAYS_SHOWN }, (_, index) => from + index * DAY_MS) };
}

/** sumMap's answer, (indexes, counts), as one count per column. */
const perColumn = z.tuple([z.array(z.coerce.number()), z.array(z.coerce.number())]);
function cells(columns: number, [indexes, counts]: z.output<typeof perColumn>): number[] {
  const values = Array.from({ length: columns }, () => 0);
  indexes.forEach((index, position) => {
    if (index >= 0 && index < columns) values[index] = (values[index] ?? 0) + (counts[position] ?? 0);
  });
  return values;
}

const volumeEvidence = z.object({
  observed: z.number(),
  baseline_median: z.number(),
  baseline_mad: z.number(),
  baseline_kind: z.string(),
  baseline_samples: z.number(),
  threshold: z.number(),
  bucket_start: z.string(),
  bucket_minutes: z.number().int().positive().max(1_440),
});
const volumeRow = z.object({ bucket_ms: z.coerce.number(), successes: z.coerce.number(), failures: z.coerce.number() });

const BASELINE_WORDS: Record<string, string> = {
  hour_of_week: 'the same hour of the week in past weeks',
  trailing: 'every bucket of the trailing baseline days',
  cold_start: 'none yet (a client under a day old is held to the cold-start cap)',
};

async function readVolumeBand(client: ClickHouseClient, alert: StoredAlert, settings: PictureSettings): Promise<Picture> {
  const evidence = volumeEvidence.safeParse(alert.evidence);
  if (!evidence.success) return readActivity(client, alert);
  const burst = evidence.data;
  const bucketMs = burst.bucket_minutes * MINUTE_MS;
  const bucketStart = Date.parse(burst.bucket_start);
  const series = alert.finding === 'invalid_client_burst' ? 'failures' : 'successes';
  const markedFrom = Math.min(alert.first_seen, bucketStart);
  const markedTo = Math.max(alert.last_seen, bucketStart + bucketMs);
  const to = Math.ceil(Math.min(markedTo + VOLUME_AFTER_MS, Math.max(markedTo, settings.now)) / bucketMs) * bucketMs;
  const from = Math.max(Math.floor((markedFrom - VOLUME_BEFORE_MS) / bucketMs) * bucketMs, to - VOLUME_MAX_MS);
  const rows = await queryRows(client, VOLUME_BUCKETS, {
    ...key(alert),
    bucket_minutes: burst.bucket_minutes,
    failure_codes: settings.burstFailureCodes,
    from: toClickHouseTime(from).slice(0, 19),
    to: toClickHouseTime(to).slice(0, 19),
  }, volumeRow);
  const buckets: number[] = [];
  for (let at = from; at < to; at += bucketMs) buckets.push(at);
  const counted = new Map(rows.map((row) => [row.bucket_ms, row[series]]));
  const what = series === 'failures' ? 'failed client authentications' : 'successful token requests';
  return {
    kind: 'volume_band',
    series,
    bucket_minutes: burst.bucket_minutes,
    buckets,
    counts: buckets.map((at) => counted.get(at) ?? 0),
    marked: { from: Math.max(from, Math.floor(markedFrom / bucketMs) * bucketMs), to: Math.min(to, Math.ceil(markedTo / bucketMs) * bucketMs) },
    band: { median: burst.baseline_median, mad: burst.baseline_mad, threshold: burst.threshold, baseline_kind: burst.baseline_kind, samples: burst.baseline_samples },
    legend:
      `The client's ${what} per ${burst.bucket_minutes} minutes. Band: from the baseline median (${burst.baseline_median}) to the threshold ` +
      `(${burst.threshold}) the detector judged the alert's bucket by: median + k × MAD (${burst.baseline_mad}), never below the absolute floor ` +
      `nor the ratio × median; baseline: ${BASELINE_WORDS[burst.baseline_kind] ?? burst.baseline_kind}, ${burst.baseline_samples} buckets. ` +
      `The alert's buckets are shaded (${burst.observed} in the bucket of ${burst.bucket_start.slice(0, 16).replace('T', ' ')} UTC).`,
  };
}

const jtiEvidence = z.object({ jti: z.string().min(1).max(1_024), uses: z.array(z.object({ client_id: z.string().max(1_024) })).default([]), clients: z.array(z.string().max(1_024)).default([]) });
const jtiRow = z.object({
  time_ms: z.coerce.number(),
  client_id: z.string(),
  outcome: z.string(),
  error_code: z.string(),
  source_ip: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
});

async function readJtiTimeline(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  const evidence = jtiEvidence.safeParse(alert.evidence);
  if (!evidence.success) return readActivity(client, alert);
  const { jti } = evidence.data;
  // A tenant-wide finding (jti_cross_client) names its clients; a replay names the alert's.
  const clients = [...new Set([alert.client_id, ...evidence.data.clients, ...evidence.data.uses.map((use) => use.client_id)])].slice(0, 100);
  const rows = await queryRows(client, JTI_USES, {
    tenant: alert.tenant,
    clients,
    jti,
    from: toClickHouseTime(alert.first_seen - DAY_MS),
    to: toClickHouseTime(alert.last_seen + DAY_MS),
  }, jtiRow);
  const networks = new Set(rows.map((row) => row.asn)).size;
  return {
    kind: 'jti_timeline',
    jti,
    uses: rows.slice(0, JTI_USES_SHOWN).map(({ time_ms, ...use }) => ({ time: time_ms, ...use })),
    truncated: rows.length > JTI_USES_SHOWN,
    legend: `Each request that presented the assertion ${jti}, from a day before the alert to a day after, coloured by network (${networks} ASN${networks === 1 ? '' : 's'}); a hollow mark is a refused request.`,
  };
}

/** What each day grid's SQL (networks-days.sql, credential-days.sql) answers for a row beside what names it. */
const dayGridFields = {
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  requests: z.coerce.number(),
  per_day: perColumn,
  marked: z.coerce.number(),
};
type DayGridFields = z.output<z.ZodObject<typeof dayGridFields>>;

/** A grid of the client's rows per day over the 30 days that end with the alert's day. */
interface DayGrid<Row extends DayGridFields> {
  readonly kind: 'networks_days' | 'credentials_timeline';
  /** Its SQL, read with the client, the days and the alert's marked values as parameters. */
  readonly query: string;
  readonly row: z.ZodType<Row>;
  /** What the grid calls a row (a network, a credential). */
  readonly name: (row: Row) => Pick<GridRow, 'label' | 'detail'>;
  /** The legend, before what the alert marks. */
  readonly legend: string;
}

async function readDayGrid<Row extends DayGridFields>(client: ClickHouseClient, alert: StoredAlert, grid: DayGrid<Row>): Promise<Picture> {
  const { from, to, columns } = daysAround(alert);
  const markers = markersOf(alert);
  const rows = await queryRows(client, grid.query, { ...key(alert), from: dateOf(from), to: dateOf(to), marked: markers.values }, grid.row);
  return {
    kind: grid.kind,
    columns,
    column_ms: DAY_MS,
    rows: rows.slice(0, GRID_ROWS).map((row): GridRow => ({
      ...grid.name(row),
      first_ms: row.first_ms,
      last_ms: row.last_ms,
      requests: row.requests,
      cells: cells(DAYS_SHOWN, row.per_day),
      marked: row.marked === 1,
    })),
    truncated: rows.length > GRID_ROWS,
    legend: `${grid.legend} ${markers.reason}`,
  };
}

const networkRow = z.object({ asn: z.coerce.number(), country: z.string(), as_org: z.string(), hosting_provider: z.string(), ...dayGridFields });

function readNetworksDays(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  return readDayGrid(client, alert, {
    kind: 'networks_days',
    query: NETWORKS_DAYS,
    row: networkRow,
    name: (row) => ({
      label: row.asn > 0 ? `AS${row.asn} ${row.country || '??'}` : `unknown network ${row.country || '??'}`,
      detail: [row.as_org, row.hosting_provider].filter(Boolean).join(', '),
    }),
    legend: `The client's networks (ASN and country), requests per day over the ${DAYS_SHOWN} days that end with the alert's day; first and last seen over the whole retention.`,
  });
}

const slotRow = z.object({
  asn: z.coerce.number(),
  country: z.string(),
  as_org: z.string(),
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  requests: z.coerce.number(),
  slots: z.array(z.coerce.number()),
  marked: z.coerce.number(),
});

async function readAsnSlots(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  const day = startOfDay(alert.last_seen);
  const markers = markersOf(alert);
  const rows = await queryRows(client, ASN_SLOTS, { ...key(alert), day: dateOf(day), marked: markers.values.map(Number).filter(Number.isInteger) }, slotRow);
  const slotsPerDay = DAY_MS / SLOT_MS;
  return {
    kind: 'asn_slots',
    day,
    columns: Array.from({ length: slotsPerDay }, (_, index) => day + index * SLOT_MS),
    column_ms: SLOT_MS,
    rows: rows.slice(0, GRID_ROWS).map((row): GridRow => {
      const used = Array.from({ length: slotsPerDay }, () => 0);
      for (const slot of row.slots) if (slot >= 0 && slot < slotsPerDay) used[slot] = 1;
      return { label: `AS${row.asn} ${row.country || '??'}`, detail: row.as_org, first_ms: row.first_ms, last_ms: row.last_ms, requests: row.requests, cells: used, marked: row.marked === 1 };
    }),
    truncated: rows.length > GRID_ROWS,
    legend: `The 5-minute slots of ${dateOf(day)} (UTC) in which each ASN got a token for this client (successful requests): the slots concurrent_networks slides its window over. ${markers.reason}`,
  };
}

const traitRow = z.object({
  kind: z.string(),
  value: z.string(),
  example: z.string(),
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  requests: z.coerce.number(),
  per_week: perColumn,
  marked: z.coerce.number(),
});

async function readTraitsWeeks(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  // client_traits' weeks start on Monday; 1970-01-01 was a Thursday.
  const monday = Math.floor((alert.last_seen - 4 * DAY_MS) / WEEK_MS) * WEEK_MS + 4 * DAY_MS;
  const to = monday + WEEK_MS;
  const from = to - WEEKS_SHOWN * WEEK_MS;
  const trait = alert.finding === 'new_user_agent' ? 'software' : 'scopes';
  const markers = markersOf(alert);
  const rows = await queryRows(client, TRAITS_WEEKS, {
    ...key(alert),
    kinds: trait === 'software' ? ['user_agent_family'] : ['scope', 'audience'],
    from: dateOf(from),
    to: dateOf(to),
    marked: markers.values,
  }, traitRow);
  return {
    kind: 'traits_weeks',
    trait,
    columns: Array.from({ length: WEEKS_SHOWN }, (_, index) => from + index * WEEK_MS),
    column_ms: WEEK_MS,
    rows: rows.slice(0, GRID_ROWS).map((row): GridRow => ({
      label: row.value,
      detail: row.kind === 'user_agent_family' ? row.example : row.kind,
      first_ms: row.first_ms,
      last_ms: row.last_ms,
      requests: row.requests,
      cells: cells(WEEKS_SHOWN, row.per_week),
      marked: row.marked === 1,
    })),
    truncated: rows.length > GRID_ROWS,
    legend: `The client's ${trait === 'software' ? 'software (user-agent families, versions ignored)' : 'scopes and audiences'}, successful requests per week over the ${WEEKS_SHOWN} weeks that end with the alert's week; first and last seen over the whole retention. ${markers.reason}`,
  };
}

const credentialRow = z.object({ credential: z.string(), credential_source: z.string(), auth_method: z.string(), ...dayGridFields });

function readCredentialsTimeline(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  return readDayGrid(client, alert, {
    kind: 'credentials_timeline',
    query: CREDENTIAL_DAYS,
    row: credentialRow,
    name: (row) => ({ label: row.credential, detail: `${row.auth_method}, named by ${row.credential_source}` }),
    legend: `The client's credentials (the IdP's credential id, else the assertion's key id): first and last successful use over all time, successful requests per day over the ${DAYS_SHOWN} days that end with the alert's day.`,
  });
}

async function readActivity(client: ClickHouseClient, alert: StoredAlert): Promise<Picture> {
  return {
    kind: 'activity',
    ...(await readAlertActivity(client, alert)),
    legend: "The client's requests per hour, successes and failures, from a week before the alert to a day after; the alert's span is shaded.",
  };
}
