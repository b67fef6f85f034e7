import { useState } from 'preact/hooks';
import { actOnAlert, type ActionName, type Alert, type Verdict } from './api.js';
import { utc } from './format.js';

const DAY_MS = 86_400_000;
const SUPPRESS_FOR: Array<[string, number]> = [
  ['1 day', DAY_MS],
  ['7 days', 7 * DAY_MS],
  ['30 days', 30 * DAY_MS],
  ['90 days', 90 * DAY_MS],
];
const VERDICT_NAMES: Array<[Verdict, string]> = [
  ['true_positive', 'true positive'],
  ['benign', 'benign'],
  ['needs_tuning', 'needs tuning'],
];

/**
 * The actions that close the loop: acknowledge, resolve, suppress (for a while, with a reason),
 * and a verdict, each with an optional note. The server records who (the signed-in user) and
 * when, and the Slack message says so.
 */
export function ActionsPanel(props: { alert: Alert; onDone: () => void }) {
  const { alert } = props;
  const [note, setNote] = useState('');
  const [suppressFor, setSuppressFor] = useState(7 * DAY_MS);
  const [verdict, setVerdict] = useState<Verdict>('true_positive');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const act = (action: ActionName) => {
    setBusy(true);
    actOnAlert(alert.alert_id, {
      action,
      note,
      ...(action === 'verdict' ? { verdict } : {}),
      ...(action === 'suppress' ? { suppress_for_ms: suppressFor } : {}),
    })
      .then(() => {
        setError(undefined);
        setNote('');
        props.onDone();
      })
      .catch((failure: Error) => setError(failure.message))
      .finally(() => setBusy(false));
  };

  return (
    <section class="actions" aria-label="actions">
      {alert.triaged_by ? (
        <p class="triage" data-triage>
          {alert.triage_action} by {alert.triaged_by} at {utc(alert.triaged_at)}
          {alert.triage_note ? `: ${alert.triage_note}` : ''}
          {alert.verdict ? ` (verdict: ${alert.verdict.replace('_', ' ')})` : ''}
        </p>
      ) : null}
      <label>
        note (optional; goes to the audit and the Slack message)
        <input name="note" value={note} maxLength={2_000} onInput={(event) => setNote(event.currentTarget.value)} />
      </label>
      <div class="buttons">
        <button type="button" disabled={busy || alert.status !== 'firing'} onClick={() => act('ack')}>Acknowledge</button>
        <button type="button" disabled={busy || alert.status === 'resolved' || alert.status === 'suppressed'} onClick={() => act('resolve')}>Resolve</button>
        <span class="group">
          <select aria-label="suppress for" value={suppressFor} onChange={(event) => setSuppressFor(Number(event.currentTarget.value))}>
            {SUPPRESS_FOR.map(([label, ms]) => <option value={ms}>{label}</option>)}
          </select>
          <button type="button" disabled={busy || alert.status === 'suppressed'} onClick={() => act('suppress')}>Suppress</button>
        </span>
        <span class="group">
          <select aria-label="verdict" value={verdict} onChange={(event) => setVerdict(event.currentTarget.value as Verdict)}>
            {VERDICT_NAMES.map(([value, label]) => <option value={value}>{label}</option>)}
          </select>
          <button type="button" disabled={busy} onClick={() => act('verdict')}>Record verdict</button>
        </span>
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
    </section>
  );
}
