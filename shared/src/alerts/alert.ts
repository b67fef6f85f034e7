import { createHash } from 'node:crypto';
import { z } from 'zod';
import { clickHouseTimeSchema } from '../storage/time.js';

/**
 * An alert: what a detector found (the finding), about which client, with the evidence an
 * on-call engineer needs. The `alerts` table (storage/migrations/0003_alerts.sql, its
 * `detector` column renamed `finding` by 0007) stores these; the notifier reads them back.
 * This module is the contract between the two; each finding's evidence schema is declared by
 * its detector (./finding.ts).
 */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * firing and resolved are the detector's; acknowledged and suppressed are set by on-call
 * (services/detector/src/triage, docs/incident-response.md "Triage"). An acknowledged alert
 * still grows and still resolves when quiet; a suppressed one is resolved with a stored
 * suppression of its finding for the client.
 */
export const ALERT_STATUSES = ['firing', 'resolved', 'acknowledged', 'suppressed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** What on-call can do to an alert; each is one row of `alert_actions` (migration 0014). */
export const TRIAGE_ACTIONS = ['ack', 'resolve', 'suppress', 'verdict'] as const;
export type TriageAction = (typeof TRIAGE_ACTIONS)[number];

/** On-call's judgement of an alert, independent of its status: what precision per finding counts. */
export const VERDICTS = ['true_positive', 'benign', 'needs_tuning'] as const;
export type Verdict = (typeof VERDICTS)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** Most event ids kept on one alert: enough to investigate, bounded so a storm stays small. */
export const MAX_ALERT_EVENT_IDS = 100;

/** What a detector returns: an alert before it is merged with what is already stored. */
export interface AlertDraft {
  /** What was found: `jti_replay`, `mint_volume`, … (a name in the detector package's findings.ts). */
  readonly finding: string;
  readonly severity: Severity;
  readonly tenant: string;
  readonly client_id: string;
  readonly client_name: string;
  /** The finding's key within the client: a jti, a location, a burst kind. */
  readonly alert_key: string;
  /** Start of the window the fingerprint covers (epoch ms), 0 when the key needs none. */
  readonly window_start: number;
  readonly first_seen: number;
  readonly last_seen: number;
  /** How many requests the alert covers, as the detector counted them in its window. */
  readonly event_count: number;
  readonly summary: string;
  /** Shaped by the finding's evidence schema (built with Finding.draft, checked before storing). */
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly event_ids: readonly string[];
  /** The client's inventory entry when the alert was raised: stamped by the engine (withOwnership), never by a detector. */
  readonly ownership?: AlertOwnership;
}

/**
 * Who owns the alert's client, from the client inventory (shared/src/inventory), stamped on
 * the alert when it is stored rather than looked up when it is shown: the stored alert says
 * who was told and where, `alerts --json`, the terminal and the webhook show the same thing
 * the Slack message did even after the inventory changes, and the notifier needs no inventory
 * of its own. An alert updated later takes the inventory of that moment.
 */
export interface AlertOwnership {
  readonly owner: string;
  readonly team: string;
  /** The client's own channel; empty sends the alert where notify.routes and SLACK_CHANNEL say. */
  readonly slack_channel: string;
  /** The client's criticality ('' when it has no entry); `critical` raised the severity one step. */
  readonly criticality: string;
  /** The severity the detector gave, before the criticality step. */
  readonly detector_severity: Severity;
}

/** One severity step up (critical stays critical): what a critical client's alerts get. */
export function raiseSeverity(severity: Severity): Severity {
  return SEVERITIES[Math.min(severityRank(severity) + 1, SEVERITIES.length - 1)] ?? severity;
}

/**
 * The deterministic fingerprint that makes alerts idempotent: the same finding computed by a
 * rerun, an overlapping tick or another replica gets the same id. A NUL separates the parts
 * because no part can contain one (they are ClickHouse strings from validated JSON text).
 * The parts are the same values they were when the field was called `detector`, so ids of
 * alerts stored before the rename still match.
 */
export function alertFingerprint(draft: Pick<AlertDraft, 'finding' | 'tenant' | 'client_id' | 'alert_key' | 'window_start'>): string {
  const parts = [draft.finding, draft.tenant, draft.client_id, draft.alert_key, String(draft.window_start)];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** One stored alert as ClickHouse returns it (JSONEachRow): validated, times in epoch ms. */
export const storedAlertSchema = z.object({
  alert_id: z.string(),
  // Any name: whether it is a known finding, and its evidence, are checked by the findings
  // catalog (FindingCatalog.read), which reports a mismatch instead of refusing the row.
  finding: z.string(),
  severity: z.enum(SEVERITIES),
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  alert_key: z.string(),
  window_start: clickHouseTimeSchema,
  first_seen: clickHouseTimeSchema,
  last_seen: clickHouseTimeSchema,
  event_count: z.coerce.number().int().nonnegative(),
  summary: z.string(),
  evidence: z.string().transform((text, context) => {
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    context.addIssue({ code: 'custom', message: 'evidence is not a JSON object' });
    return z.NEVER;
  }),
  event_ids: z.array(z.string()),
  // From the client inventory when the alert was stored (migration 0010); '' without an entry.
  owner: z.string().default(''),
  team: z.string().default(''),
  slack_channel: z.string().default(''),
  criticality: z.string().default(''),
  // '' for alerts stored before 0010: their severity is the detector's.
  detector_severity: z.union([z.enum(SEVERITIES), z.literal('')]).default(''),
  status: z.enum(ALERT_STATUSES),
  // The latest human action (migration 0014): '' and 1970 (0) when nobody has triaged the alert.
  triage_action: z.union([z.enum(TRIAGE_ACTIONS), z.literal('')]).default(''),
  triaged_by: z.string().default(''),
  triaged_at: clickHouseTimeSchema.default(0),
  triage_note: z.string().default(''),
  verdict: z.union([z.enum(VERDICTS), z.literal('')]).default(''),
  created_at: clickHouseTimeSchema,
  updated_at: clickHouseTimeSchema,
});

export type StoredAlert = z.output<typeof storedAlertSchema>;
