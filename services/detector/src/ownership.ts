import { raiseSeverity, type AlertDraft } from '@tokenwatch/shared/alerts/alert';
import type { Inventory } from '@tokenwatch/shared/inventory/inventory';

/**
 * Stamps each draft with its client's inventory entry (owner, team, channel, criticality) and
 * raises a critical client's severity one step, keeping the detector's own severity beside it
 * so the raise is visible in the stored alert. Detectors stay unaware of the inventory: every
 * finding gets the same treatment, in one place.
 */
export function withOwnership(drafts: readonly AlertDraft[], inventory: Inventory | undefined): AlertDraft[] {
  return drafts.map((draft) => {
    const entry = inventory?.get(draft.tenant, draft.client_id);
    const critical = entry?.criticality === 'critical';
    return {
      ...draft,
      severity: critical ? raiseSeverity(draft.severity) : draft.severity,
      client_name: draft.client_name || entry?.name || '',
      ownership: {
        owner: entry?.owner ?? '',
        team: entry?.team ?? '',
        slack_channel: entry?.slack_channel ?? '',
        criticality: entry?.criticality ?? '',
        detector_severity: draft.severity,
      },
    };
  });
}
