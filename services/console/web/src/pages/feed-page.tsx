import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { readFeed, watchAlerts, type Alert, type FeedFilter, type FindingCount } from '../api.js';
import { ago, utc } from '../format.js';
import { Link, navigate } from '../router.js';

const STATUSES = ['', 'firing', 'acknowledged', 'resolved', 'suppressed'];
const SEVERITIES = ['', 'critical', 'high', 'medium', 'low', 'info'];
const TEXT_FILTERS = ['finding', 'tenant', 'client', 'owner'] as const;

function filterFromLocation(): FeedFilter {
  const params = new URLSearchParams(location.search);
  const filter: FeedFilter = {};
  for (const key of ['status', 'severity', ...TEXT_FILTERS] as const) {
    const value = params.get(key);
    if (value) filter[key] = value;
  }
  return filter;
}

/**
 * The alert feed: firing first, most severe first, then newest; filters kept in the address
 * (a filtered feed can be shared); live over server-sent events. Keys: j/k move, Enter opens,
 * / edits the first filter.
 */
export function FeedPage() {
  const [filter, setFilter] = useState<FeedFilter>(filterFromLocation);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [counts, setCounts] = useState<FindingCount[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);
  const [selected, setSelected] = useState(0);
  const firstFilter = useRef<HTMLInputElement>(null);

  const load = useCallback(() => {
    readFeed(filter)
      .then((feed) => {
        setAlerts(feed.alerts);
        setCounts(feed.counts);
        setError(undefined);
      })
      .catch((failure: Error) => setError(failure.message))
      .finally(() => setLoaded(true));
  }, [filter]);

  useEffect(() => {
    const query = new URLSearchParams(Object.entries(filter).filter(([, value]) => value)).toString();
    history.replaceState(null, '', query ? `/?${query}` : '/');
    load();
    return watchAlerts(load);
  }, [filter, load]);

  // The key handler is registered once and reads the selection from a ref it updates itself,
  // and the feed of the latest render: a handler re-registered by an effect after each render
  // (effects run after paint) let an Enter typed right after j open the alert j had moved away
  // from.
  const selection = useRef(0);
  const shownAlerts = useRef(alerts);
  shownAlerts.current = alerts;
  useEffect(() => {
    const select = (index: number) => {
      selection.current = index;
      setSelected(index);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
      const shown = shownAlerts.current;
      const current = shown[selection.current];
      if (event.key === 'j') select(Math.max(Math.min(selection.current + 1, shown.length - 1), 0));
      else if (event.key === 'k') select(Math.max(selection.current - 1, 0));
      else if (event.key === 'Enter' && current) navigate(`/alerts/${current.alert_id}`);
      else if (event.key === '/') {
        event.preventDefault();
        firstFilter.current?.focus();
      } else return;
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const set = (key: keyof FeedFilter, value: string) => setFilter((current) => ({ ...current, [key]: value }));

  return (
    <section>
      <h1>Alerts</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          status
          <select value={filter.status ?? ''} onChange={(event) => set('status', event.currentTarget.value)}>
            {STATUSES.map((status) => <option value={status}>{status || 'any'}</option>)}
          </select>
        </label>
        <label>
          severity
          <select value={filter.severity ?? ''} onChange={(event) => set('severity', event.currentTarget.value)}>
            {SEVERITIES.map((severity) => <option value={severity}>{severity || 'any'}</option>)}
          </select>
        </label>
        {TEXT_FILTERS.map((key, index) => (
          <label>
            {key}
            <input
              ref={index === 0 ? firstFilter : undefined}
              value={filter[key] ?? ''}
              placeholder="any"
              onChange={(event) => set(key, event.currentTarget.value.trim())}
            />
          </label>
        ))}
      </form>
      <ul class="counts" aria-label="alerts by finding">
        {counts.map((count) => (
          <li>
            <button type="button" class={filter.finding === count.finding ? 'chip active' : 'chip'} onClick={() => set('finding', filter.finding === count.finding ? '' : count.finding)}>
              {count.finding} <b>{count.alerts}</b>
              {count.firing > 0 ? <span class="firing"> {count.firing} firing</span> : null}
            </button>
          </li>
        ))}
      </ul>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {loaded && alerts.length === 0 && !error ? <p class="empty">No alerts match.</p> : null}
      <table class="feed">
        <thead>
          <tr>
            <th>severity</th>
            <th>status</th>
            <th>finding</th>
            <th>client</th>
            <th class="wide">summary</th>
            <th>last seen</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((alert, index) => (
            <tr class={index === selected ? 'selected' : undefined} data-alert-id={alert.alert_id}>
              <td><span class={`severity ${alert.severity}`}>{alert.severity}</span></td>
              <td><span class={`status ${alert.status}`}>{alert.status}</span></td>
              <td>{alert.finding}</td>
              <td>
                <span class="tenant">{alert.tenant}</span> {alert.client_name || alert.client_id}
              </td>
              <td class="wide">
                <Link href={`/alerts/${alert.alert_id}`}>{alert.summary}</Link>
              </td>
              <td title={utc(alert.last_seen)}>{ago(alert.last_seen)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
