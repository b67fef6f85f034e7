import type { AlertStatus, StoredAlert, TriageAction, Verdict } from '@tokenwatch/shared/alerts/alert';

/**
 * One human action as it changes an alert: pure, so the action writer (./triage.ts) and the
 * detector's carry-forward (alerts-store.ts: a detector write that raced an action is
 * corrected from the audit row) apply it the same way.
 */
export interface AppliedAction {
  readonly action: TriageAction;
  readonly actor: string;
  readonly note: string;
  /** '' when the action gave no verdict: the alert keeps the one it had. */
  readonly verdict: Verdict | '';
  readonly at: number;
}

/** The status an action leaves: a verdict says what the alert was, not what to do with it. */
function statusAfter(action: TriageAction, current: AlertStatus): AlertStatus {
  switch (action) {
    case 'ack':
      return 'acknowledged';
    case 'resolve':
      return 'resolved';
    case 'suppress':
      return 'suppressed';
    case 'verdict':
      return current;
  }
}

/** The alert version an action writes; updated_at is the action's time (the version the notifier sees). */
export function applyAction(alert: StoredAlert, action: AppliedAction): StoredAlert {
  return {
    ...alert,
    status: statusAfter(action.action, alert.status),
    triage_action: action.action,
    triaged_by: action.actor,
    triaged_at: action.at,
    triage_note: action.note,
    verdict: action.verdict || alert.verdict,
    updated_at: Math.max(action.at, alert.updated_at + 1),
  };
}

