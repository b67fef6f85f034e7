import type { ClickHouseClient } from '@clickhouse/client';
import { insertLines, queryRows, sql } from '@tokenwatch/shared/storage/sql';
import {
  alertFingerprint,
  MAX_ALERT_EVENT_IDS,
  maxSeverity,
  severityRank,
  storedAlertSchema,
  TRIAGE_ACTIONS,
  VERDICTS,
  type AlertDraft,
  type AlertStatus,
  type StoredAlert,
} from '@tokenwatch/shared/alerts/alert';
import { z } from 'zod';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { FINDINGS } from './findings.js';
import { applyAction, type AppliedAction } from './triage/apply.js';

const ALERTS_BY_ID = sql(import.meta.url, './alerts-by-id.sql');
const INSERT_ALERTS = sql(import.meta.url, './insert-alerts.sql');
export const ALERTS_UPDATED_SINCE = sql(import.meta.url, './alerts-updated-since.sql');
const FIRING_LAST_SEEN_BEFORE = sql(import.meta.url, './firing-alerts-last-seen-before.sql');
const LATEST_TRIAGE = sql(import.meta.url, './latest-triage.sql');

/**
 * Every read-then-write of alerts in this process takes this lock: the detector's upserts and
 * quiet resolutions, and on-call's actions (triage/triage.ts), which in embedded mode arrive
 * through the running process's /action. So an action can never land between a detector's
 * read of an alert and its write of the next version, and be overwritten by it. (Processes
 * that share a ClickHouse server do not share it: see carryTriage.)
 */
let alertWrites: Promise<unknown> = Promise.resolve();

export function withAlertWriteLock<T>(work: () => Promise<T>): Promise<T> {
  const run = alertWrites.then(work, work);
  alertWrites = run.catch(() => undefined);
  return run;
}

export interface UpsertResult {
  /** Alerts stored for the first time. */
  readonly raised: readonly StoredAlert[];
  /** Alerts that already existed and changed (grew, escalated, re-fired). */
  readonly updated: readonly StoredAlert[];
}

/**
 * Stores detector findings idempotently. A draft whose fingerprint is new becomes a firing
 * alert; one that exists is merged into it (first/last seen widened, count and severity never
 * lowered, event ids united) and written again only when something changed, so overlapping
 * ticks and replicas do not churn the notifier.
 */
export async function upsertAlerts(client: ClickHouseClient, drafts: readonly AlertDraft[], now: number): Promise<UpsertResult> {
  if (drafts.length === 0) return { raised: [], updated: [] };
  const merged = mergeDrafts(drafts, now);
  return withAlertWriteLock(async () => {
    const stored = await carryTriage(client, [...(await readAlertsById(client, merged.map((alert) => alert.alert_id))).values()]);
    const raised: StoredAlert[] = [];
    const updated: StoredAlert[] = [];
    for (const alert of merged) {
      const existing = stored.get(alert.alert_id);
      if (!existing) {
        raised.push(alert);
        continue;
      }
      const next = mergeStored(existing.alert, alert, now) ?? (existing.carried ? existing.alert : undefined);
      if (next) updated.push(next);
    }
    await writeAlerts(client, [...raised, ...updated]);
    return { raised, updated };
  });
}

/** Marks firing (or acknowledged) alerts of a finding resolved when nothing new was seen for `quietMs`. */
export async function resolveQuietAlerts(client: ClickHouseClient, finding: string, quietMs: number, now: number): Promise<StoredAlert[]> {
  return withAlertWriteLock(async () => {
    const quiet = await queryRows(client, FIRING_LAST_SEEN_BEFORE, { finding, before: toClickHouseTime(now - quietMs) }, storedAlertSchema);
    const carried = await carryTriage(client, quiet);
    // An alert a lost action resolved or suppressed is written as the action left it.
    const resolved = [...carried.values()].map(({ alert }) => (alert.status === 'firing' || alert.status === 'acknowledged' ? withStatus(alert, 'resolved', now) : alert));
    await writeAlerts(client, resolved);
    return resolved;
  });
}

const latestTriageRow = z.object({
  alert_id: z.string(),
  latest_action: z.enum(TRIAGE_ACTIONS),
  latest_actor: z.string(),
  latest_note: z.string(),
  latest_verdict: z.union([z.enum(VERDICTS), z.literal('')]),
  latest_at: clickHouseTimeSchema,
});

/**
 * The alerts with the latest human action re-applied where their stored version lacks it
 * (its triaged_at is older than the action's audit row). Within one process the lock makes
 * that impossible; between processes on one ClickHouse server (a detector service and a
 * `tokenwatch alerts ack` writing directly) the detector may have read an alert just before an
 * action and written its next version just after, hiding the action. The audit row is never
 * lost, so the next detector write of that alert puts the action back.
 */
async function carryTriage(client: ClickHouseClient, alerts: readonly StoredAlert[]): Promise<Map<string, { alert: StoredAlert; carried: boolean }>> {
  const result = new Map(alerts.map((alert) => [alert.alert_id, { alert, carried: false }]));
  if (alerts.length === 0) return result;
  const actions = await queryRows(client, LATEST_TRIAGE, { ids: alerts.map((alert) => alert.alert_id) }, latestTriageRow);
  for (const action of actions) {
    const entry = result.get(action.alert_id);
    if (!entry || action.latest_at <= entry.alert.triaged_at) continue;
    const applied: AppliedAction = { action: action.latest_action, actor: action.latest_actor, note: action.latest_note, verdict: action.latest_verdict, at: action.latest_at };
    result.set(action.alert_id, { alert: applyAction(entry.alert, applied), carried: true });
  }
  return result;
}

/** Alerts whose latest version changed after `since` (epoch ms), oldest change first. */
export async function readAlertsUpdatedSince(client: ClickHouseClient, since: number, limit = 1_000): Promise<StoredAlert[]> {
  return queryRows(client, ALERTS_UPDATED_SINCE, { since: toClickHouseTime(since), limit }, storedAlertSchema);
}

/** Reads the current version of these alerts by id (no triage carried: that is upsert's business). */
export async function readAlertsById(client: ClickHouseClient, ids: readonly string[]): Promise<Map<string, StoredAlert>> {
  if (ids.length === 0) return new Map();
  const alerts = await queryRows(client, ALERTS_BY_ID, { ids }, storedAlertSchema);
  return new Map(alerts.map((alert) => [alert.alert_id, alert]));
}

/** Appends alert versions (ReplacingMergeTree keeps the newest by updated_at). */
export async function writeAlerts(client: ClickHouseClient, alerts: readonly StoredAlert[]): Promise<void> {
  const lines = alerts.map((alert) =>
    JSON.stringify({
      ...alert,
      window_start: toClickHouseTime(alert.window_start),
      first_seen: toClickHouseTime(alert.first_seen),
      last_seen: toClickHouseTime(alert.last_seen),
      created_at: toClickHouseTime(alert.created_at),
      updated_at: toClickHouseTime(alert.updated_at),
      triaged_at: toClickHouseTime(alert.triaged_at),
      evidence: JSON.stringify(alert.evidence),
    }),
  );
  await insertLines(client, INSERT_ALERTS, lines);
}

function newAlert(alert_id: string, draft: AlertDraft, now: number): StoredAlert {
  return {
    alert_id,
    finding: draft.finding,
    severity: draft.severity,
    tenant: draft.tenant,
    client_id: draft.client_id,
    client_name: draft.client_name,
    alert_key: draft.alert_key,
    window_start: draft.window_start,
    first_seen: draft.first_seen,
    last_seen: draft.last_seen,
    event_count: draft.event_count,
    summary: draft.summary,
    evidence: { ...draft.evidence },
    event_ids: [...new Set(draft.event_ids)].slice(0, MAX_ALERT_EVENT_IDS),
    owner: draft.ownership?.owner ?? '',
    team: draft.ownership?.team ?? '',
    slack_channel: draft.ownership?.slack_channel ?? '',
    criticality: draft.ownership?.criticality ?? '',
    detector_severity: draft.ownership?.detector_severity ?? draft.severity,
    status: 'firing',
    triage_action: '',
    triaged_by: '',
    triaged_at: 0,
    triage_note: '',
    verdict: '',
    created_at: now,
    updated_at: now,
  };
}

/**
 * Drafts as alerts, those with one fingerprint merged (the same finding from two chunks of a
 * catch-up or a backtest), in first-seen order. Pure: a backtest uses it without storing.
 * Every draft must name a known finding and carry evidence its schema accepts; one that does
 * not is a detector bug, refused here (the error names the finding and the key) before
 * anything is stored.
 */
export function mergeDrafts(drafts: readonly AlertDraft[], now: number): StoredAlert[] {
  const merged = new Map<string, StoredAlert>();
  for (const unchecked of drafts) {
    const draft = FINDINGS.checkDraft(unchecked);
    const id = alertFingerprint(draft);
    const alert = newAlert(id, draft, now);
    const previous = merged.get(id);
    merged.set(id, previous ? combine(previous, alert) : alert);
  }
  return [...merged.values()].sort((a, b) => a.first_seen - b.first_seen);
}

/** The stored alert updated with a new finding, or undefined when nothing changed. */
function mergeStored(existing: StoredAlert, found: StoredAlert, now: number): StoredAlert | undefined {
  const next = combine(existing, found);
  // A resolved alert (by the detector or by a human) fires again only for evidence newer than
  // what it resolved on; so does a suppressed one (the engine drops findings while its
  // suppression lasts, so this is evidence from after it expired, or of another key). An
  // acknowledged alert stays acknowledged: it grows, but pages nobody again.
  const refires = (existing.status === 'resolved' || existing.status === 'suppressed') && found.last_seen > existing.last_seen;
  const status: AlertStatus = refires ? 'firing' : existing.status;
  const changed =
    status !== existing.status ||
    next.last_seen !== existing.last_seen ||
    next.first_seen !== existing.first_seen ||
    next.event_count !== existing.event_count ||
    next.severity !== existing.severity ||
    next.event_ids.length !== existing.event_ids.length;
  if (!changed) return undefined;
  return { ...next, status, created_at: existing.created_at, updated_at: Math.max(now, existing.updated_at + 1) };
}

function combine(base: StoredAlert, found: StoredAlert): StoredAlert {
  // The larger finding tells the story: its summary and evidence replace the smaller one's.
  const newer = found.event_count >= base.event_count || severityRank(found.severity) > severityRank(base.severity);
  return {
    ...base,
    severity: maxSeverity(base.severity, found.severity),
    client_name: found.client_name || base.client_name,
    first_seen: Math.min(base.first_seen, found.first_seen),
    last_seen: Math.max(base.last_seen, found.last_seen),
    event_count: Math.max(base.event_count, found.event_count),
    summary: newer ? found.summary : base.summary,
    evidence: newer ? found.evidence : base.evidence,
    event_ids: [...new Set([...base.event_ids, ...found.event_ids])].slice(0, MAX_ALERT_EVENT_IDS),
    // The inventory as it is now: an owner handed over since the alert fired is who acts on it.
    // (The Slack thread stays where the root was posted.)
    owner: found.owner,
    team: found.team,
    slack_channel: found.slack_channel,
    criticality: found.criticality,
    detector_severity: base.detector_severity && found.detector_severity ? maxSeverity(base.detector_severity, found.detector_severity) : found.detector_severity,
  };
}

function withStatus(alert: StoredAlert, status: AlertStatus, now: number): StoredAlert {
  return { ...alert, status, updated_at: Math.max(now, alert.updated_at + 1) };
}
