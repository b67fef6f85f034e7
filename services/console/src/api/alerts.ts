import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { SEVERITIES, storedAlertSchema, type StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';

const ALERTS_FEED = sql(import.meta.url, './alerts-feed.sql');
const FINDING_COUNTS = sql(import.meta.url, './finding-counts.sql');
const ALERT_BY_ID = sql(import.meta.url, './alert-by-id.sql');
const ALERT_EVENTS = sql(import.meta.url, './alert-events.sql');
const ALERTS_CHANGED = sql(import.meta.url, './alerts-changed.sql');
const CLIENT_ACTIVITY = sql(import.meta.url, './client-activity.sql');

export const HOUR_MS = 3_600_000;

/** The picture around an alert: a week before its first request to a day after its last. */
const ACTIVITY_BEFORE_MS = 7 * 24 * 3_600_000;
const ACTIVITY_AFTER_MS = 24 * 3_600_000;

const name = z.string().max(256, 'at most 256 characters');
/** Alert statuses and finding names are lowercase words; the filter refuses anything else rather than matching nothing. */
const word = z.string().regex(/^[a-z_]{0,64}$/, 'expected a lowercase name such as firing or jti_replay');

/** The feed's query string, validated: every value goes to ClickHouse as a query parameter. */
export const feedFilterSchema = z.strictObject({
  status: word.default(''),
  severity: z.union([z.enum(SEVERITIES), z.literal('')]).default(''),
  finding: word.default(''),
  tenant: name.default(''),
  client: name.default(''),
  owner: name.default(''),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});
export type FeedFilter = z.output<typeof feedFilterSchema>;

const countRow = z.object({ finding: z.string(), alerts: z.coerce.number(), firing: z.coerce.number() });

export async function readFeed(client: ClickHouseClient, filter: FeedFilter): Promise<{ alerts: StoredAlert[]; counts: Array<z.output<typeof countRow>> }> {
  const [alerts, counts] = await Promise.all([
    queryRows(client, ALERTS_FEED, filter, storedAlertSchema),
    queryRows(client, FINDING_COUNTS, filter, countRow),
  ]);
  return { alerts, counts };
}

/** Alert ids are the fingerprint's 32 hex digits (shared/src/alerts/alert.ts). */
export const alertIdSchema = z.string().regex(/^[0-9a-f]{32}$/, 'expected an alert id (32 hex digits)');

const eventRow = z.object({
  event_id: z.string(),
  time: clickHouseTimeSchema,
  idp: z.string(),
  grant_type: z.string(),
  auth_method: z.string(),
  credential_id: z.string(),
  outcome: z.string(),
  error_code: z.string(),
  source_ip: z.string(),
  user_agent: z.string(),
  scopes: z.array(z.string()),
  audience: z.string(),
  assertion_jti: z.string(),
  assertion_kid: z.string(),
  country: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  hosting_provider: z.string(),
});
export type AlertEvent = z.output<typeof eventRow>;

const activityRow = z.object({ hour: z.coerce.number(), outcome: z.enum(['success', 'failure']), requests: z.coerce.number() });

/** Requests per hour of the alert's client, successes and failures: the chart on the alert page. */
export interface ClientActivity {
  readonly hours: number[];
  readonly successes: number[];
  readonly failures: number[];
}

export interface AlertDetail {
  readonly alert: StoredAlert;
  readonly activity: ClientActivity;
  readonly events: AlertEvent[];
  /** The SQL behind the events list, with its parameters: what an investigator pastes into `tokenwatch sql`. */
  readonly query: { readonly sql: string; readonly params: Record<string, unknown> };
}

/** The current version of one alert, or undefined. */
export async function readStoredAlert(client: ClickHouseClient, id: string): Promise<StoredAlert | undefined> {
  const [alert] = await queryRows(client, ALERT_BY_ID, { id }, storedAlertSchema);
  return alert;
}

export async function readAlertDetail(client: ClickHouseClient, id: string): Promise<AlertDetail | undefined> {
  const alert = await readStoredAlert(client, id);
  if (!alert) return undefined;
  const params = { tenant: alert.tenant, client: alert.client_id, ids: alert.event_ids };
  const [events, activity] = await Promise.all([
    alert.event_ids.length === 0 ? [] : queryRows(client, ALERT_EVENTS, params, eventRow),
    readAlertActivity(client, alert),
  ]);
  return { alert, activity, events, query: { sql: ALERT_EVENTS, params } };
}

/** The client's requests per hour around an alert: the alert page's chart, and the fallback picture. */
export async function readAlertActivity(client: ClickHouseClient, alert: StoredAlert): Promise<ClientActivity> {
  const to = Math.ceil((alert.last_seen + ACTIVITY_AFTER_MS) / HOUR_MS) * HOUR_MS;
  // A long-lived alert (a credential watched for months) shows its last 31 days: 744 points at most.
  const from = Math.max(Math.floor((alert.first_seen - ACTIVITY_BEFORE_MS) / HOUR_MS) * HOUR_MS, to - 31 * 24 * HOUR_MS);
  return readClientActivity(client, alert.tenant, alert.client_id, from, to);
}

/** A client's requests per hour in [from, to) (whole hours), zero where it was silent: a gap must show as a gap. */
export async function readClientActivity(client: ClickHouseClient, tenant: string, clientId: string, from: number, to: number): Promise<ClientActivity> {
  const rows = await queryRows(client, CLIENT_ACTIVITY, { tenant, client: clientId, from: toClickHouseTime(from).slice(0, 19), to: toClickHouseTime(to).slice(0, 19) }, activityRow);
  const hours: number[] = [];
  for (let at = from; at < to; at += HOUR_MS) hours.push(at);
  const index = new Map(hours.map((at, position) => [at, position]));
  const successes = hours.map(() => 0);
  const failures = hours.map(() => 0);
  for (const row of rows) {
    const position = index.get(row.hour);
    if (position === undefined) continue;
    (row.outcome === 'success' ? successes : failures)[position] = row.requests;
  }
  return { hours, successes, failures };
}

const changedRow = z.object({
  alert_id: z.string(),
  finding: z.string(),
  severity: z.string(),
  status: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  updated_at: clickHouseTimeSchema,
});
export type AlertChange = z.output<typeof changedRow>;

/** Alerts changed after `since` (epoch ms), oldest first, at most 200. */
export async function readAlertChanges(client: ClickHouseClient, since: number): Promise<AlertChange[]> {
  return queryRows(client, ALERTS_CHANGED, { since: toClickHouseTime(since) }, changedRow);
}
