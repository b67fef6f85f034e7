import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { TRIAGE_ACTIONS, VERDICTS, type StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { QueryError } from '@tokenwatch/shared/errors';
import { insertLines, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS, SECOND_MS } from '@tokenwatch/shared/time';
import { readAlertsById, withAlertWriteLock, writeAlerts } from '../alerts-store.js';
import { applyAction, type AppliedAction } from './apply.js';

/**
 * On-call's actions on an alert: acknowledge, resolve, suppress (resolve plus a stored
 * suppression with an expiry) and a verdict. The one implementation: `tokenwatch alerts
 * ack|resolve|suppress|verdict` calls it (through the running process's /action in embedded
 * mode, directly on a ClickHouse server), and the console's API will too. Each action appends
 * one audit row (alert_actions) and writes one alert version that says who did what, which the
 * notifier turns into an update of the Slack message. docs/incident-response.md "Triage" has
 * the state diagram.
 */

export const ALERT_ID = /^[0-9a-f]{32}$/;
export const alertIdSchema = z.string().regex(ALERT_ID, 'expected an alert id: 32 hex digits (alert_id in tokenwatch alerts --json)');

/** Who acted: a user name, bounded, on one line (it is shown in Slack and in the audit). */
export const actorSchema = z
  .string()
  .trim()
  .min(1, 'is empty')
  .max(256, 'is longer than 256 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line without control characters');

export const MAX_NOTE_CHARS = 2_000;
export const noteSchema = z.string().trim().max(MAX_NOTE_CHARS, `is longer than ${MAX_NOTE_CHARS.toLocaleString('en')} characters`);

/** A suppression lasts at least this long (shorter is a typo) and at most 90 days: one nobody renews ends by itself. */
export const MIN_SUPPRESSION_MS = 10 * SECOND_MS;
export const MAX_SUPPRESSION_MS = 90 * DAY_MS;

const common = {
  alert_id: alertIdSchema,
  actor: actorSchema,
  note: noteSchema.default(''),
  verdict: z.enum(VERDICTS).optional(),
};

export const triageRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('ack'), ...common }),
  z.strictObject({ action: z.literal('resolve'), ...common }),
  z.strictObject({
    action: z.literal('suppress'),
    ...common,
    suppress_for_ms: z
      .number()
      .int()
      .min(MIN_SUPPRESSION_MS, 'a suppression lasts at least 10 seconds')
      .max(MAX_SUPPRESSION_MS, 'a suppression lasts at most 90 days'),
    // Only this alert's key of the finding (a jti, a location); by default every key of the client.
    only_this_key: z.boolean().default(false),
  }),
  z.strictObject({ action: z.literal('verdict'), ...common, verdict: z.enum(VERDICTS) }),
]);
export type TriageRequest = z.input<typeof triageRequestSchema>;

/** What an action answers (and what travels back through /action): the alert as the action left it. */
export const triageResultSchema = z.strictObject({
  alert_id: z.string(),
  finding: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  status: z.string(),
  triage_action: z.enum(TRIAGE_ACTIONS),
  triaged_by: z.string(),
  triaged_at: z.number(),
  triage_note: z.string(),
  verdict: z.string(),
  /** The suppression's expiry (epoch ms); null for other actions. */
  suppressed_until: z.number().nullable(),
});
export type TriageResult = z.output<typeof triageResultSchema>;

const INSERT_ACTION = sql(import.meta.url, './insert-action.sql');

/**
 * Runs one action. Refuses (QueryError, one line) a request that breaks a rule, an unknown
 * alert id, or an action the alert's status does not allow; then nothing is written.
 */
export async function triageAlert(client: ClickHouseClient, input: TriageRequest, now = Date.now()): Promise<TriageResult> {
  const parsed = triageRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new QueryError(`invalid ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid value'}`);
  }
  const request = parsed.data;
  return withAlertWriteLock(async () => {
    const alert = (await readAlertsById(client, [request.alert_id])).get(request.alert_id);
    if (!alert) throw new QueryError(`no alert ${request.alert_id} (tokenwatch alerts --json lists them with their alert_id)`);
    refuseImpossible(request.action, alert);
    // Strictly after the alert's current version, so the action's version replaces it.
    const at = Math.max(now, alert.updated_at + 1);
    const applied: AppliedAction = { action: request.action, actor: request.actor, note: request.note, verdict: request.verdict ?? '', at };
    const suppressedUntil = request.action === 'suppress' ? at + request.suppress_for_ms : null;
    // The audit row first: if the alert write fails, the detector's next write of the alert
    // applies the action from it (alerts-store.ts, carryTriage).
    await insertLines(client, INSERT_ACTION, [
      JSON.stringify({
        alert_id: alert.alert_id,
        action: applied.action,
        actor: applied.actor,
        note: applied.note,
        verdict: applied.verdict,
        at: toClickHouseTime(at),
        finding: alert.finding,
        tenant: alert.tenant,
        client_id: alert.client_id,
        alert_key: request.action === 'suppress' && request.only_this_key ? alert.alert_key : '',
        suppressed_until: suppressedUntil === null ? null : toClickHouseTime(suppressedUntil),
      }),
    ]);
    const next = applyAction(alert, applied);
    await writeAlerts(client, [next]);
    return {
      alert_id: next.alert_id,
      finding: next.finding,
      tenant: next.tenant,
      client_id: next.client_id,
      status: next.status,
      triage_action: request.action,
      triaged_by: next.triaged_by,
      triaged_at: next.triaged_at,
      triage_note: next.triage_note,
      verdict: next.verdict,
      suppressed_until: suppressedUntil,
    };
  });
}

/** Actions that would say something false: acknowledging what is over, resolving twice. */
function refuseImpossible(action: TriageRequest['action'], alert: StoredAlert): void {
  const by = alert.triaged_by && alert.triage_action !== 'verdict' ? ` by ${alert.triaged_by}` : '';
  if (action === 'ack' && alert.status !== 'firing') {
    throw new QueryError(`alert ${alert.alert_id} is ${alert.status}${alert.status === 'acknowledged' ? by : ''}: only a firing alert can be acknowledged`);
  }
  if (action === 'resolve' && alert.status !== 'firing' && alert.status !== 'acknowledged') {
    throw new QueryError(`alert ${alert.alert_id} is already ${alert.status}${alert.triage_action === 'resolve' || alert.triage_action === 'suppress' ? by : ''}`);
  }
}
