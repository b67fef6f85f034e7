import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';

/**
 * Stored suppressions (`tokenwatch alerts suppress`): allowlist entries that on-call creates
 * from an alert, kept in ClickHouse instead of the configuration file, so they work without a
 * redeploy and survive restarts. Each names a finding, a tenant and a client (and optionally
 * one key of the finding) and an expiry; the engine drops matching findings until then.
 */

const ACTIVE_SUPPRESSIONS = sql(import.meta.url, './active-suppressions.sql');

export const suppressionSchema = z.object({
  finding: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  alert_key: z.string(),
  suppressed_until: clickHouseTimeSchema,
  actor: z.string(),
  note: z.string(),
  at: clickHouseTimeSchema,
});
export type Suppression = z.output<typeof suppressionSchema>;

/** Suppressions that have not expired at `at` (epoch ms). */
export async function readActiveSuppressions(client: ClickHouseClient, at: number): Promise<Suppression[]> {
  return queryRows(client, ACTIVE_SUPPRESSIONS, { at: toClickHouseTime(at) }, suppressionSchema);
}

/**
 * The drafts no suppression covers. A suppression covers a draft of its finding, tenant and
 * client (and key, when it names one) whose evidence ends before the suppression expires: so a
 * backtest or a late catch-up keeps hiding what happened while it lasted, and evidence from
 * after the expiry is raised (and re-fires the suppressed alert).
 */
export function withoutSuppressed<T extends Pick<AlertDraft, 'finding' | 'tenant' | 'client_id' | 'alert_key' | 'last_seen'>>(
  drafts: readonly T[],
  suppressions: readonly Suppression[],
): T[] {
  if (suppressions.length === 0) return [...drafts];
  return drafts.filter(
    (draft) =>
      !suppressions.some(
        (entry) =>
          entry.finding === draft.finding &&
          entry.tenant === draft.tenant &&
          entry.client_id === draft.client_id &&
          (entry.alert_key === '' || entry.alert_key === draft.alert_key) &&
          draft.last_seen < entry.suppressed_until,
      ),
  );
}
