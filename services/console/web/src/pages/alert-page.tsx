import { useEffect, useState } from 'preact/hooks';
import { ActionsPanel } from '../actions-panel.js';
import { ActivityChart } from '../activity-chart.js';
import { clientHref, readAlert, readPicture, watchAlerts, type AlertDetail, type Picture } from '../api.js';
import { utc } from '../format.js';
import { AlertPicture } from '../pictures/alert-picture.js';
import { Link } from '../router.js';

/** One alert: summary, who owns the client, the evidence, the requests behind it and the SQL that reads them. */
export function AlertPage(props: { id: string }) {
  const [detail, setDetail] = useState<AlertDetail | undefined>();
  const [error, setError] = useState<string | undefined>();

  const [version, setVersion] = useState(0);
  // The picture is its own request: a slow one never holds back the alert and its actions.
  const [picture, setPicture] = useState<Picture | undefined>();
  const [pictureError, setPictureError] = useState<string | undefined>();

  useEffect(() => {
    setPicture(undefined);
    readPicture(props.id)
      .then((found) => {
        setPicture(found);
        setPictureError(undefined);
      })
      .catch((failure: Error) => setPictureError(failure.message));
  }, [props.id]);

  useEffect(() => {
    const load = () =>
      readAlert(props.id)
        .then((found) => {
          setDetail(found);
          setError(undefined);
        })
        .catch((failure: Error) => setError(failure.message));
    void load();
    return watchAlerts(() => void load());
  }, [props.id, version]);

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!detail) return <p aria-busy="true">Loading…</p>;
  const { alert, activity, events, query } = detail;
  return (
    <article class="alert">
      <p>
        <Link href="/">← Alerts</Link>
      </p>
      <h1>
        <span class={`severity ${alert.severity}`}>{alert.severity}</span> {alert.finding}{' '}
        <span class={`status ${alert.status}`}>{alert.status}</span>
      </h1>
      <p class="summary">{alert.summary}</p>
      <ActionsPanel alert={alert} onDone={() => setVersion((current) => current + 1)} />
      <dl class="facts">
        <dt>client</dt>
        <dd>
          <Link href={clientHref(alert.tenant, alert.client_id)}>
            {alert.tenant} / {alert.client_id}
            {alert.client_name ? ` (${alert.client_name})` : ''}
          </Link>
        </dd>
        <dt>owner</dt>
        <dd>{alert.owner ? `${alert.owner}${alert.team ? `, ${alert.team}` : ''}` : 'no inventory entry'}</dd>
        <dt>first seen</dt>
        <dd>{utc(alert.first_seen)}</dd>
        <dt>last seen</dt>
        <dd>{utc(alert.last_seen)}</dd>
        <dt>requests</dt>
        <dd>{alert.event_count}</dd>
        <dt>alert id</dt>
        <dd><code>{alert.alert_id}</code></dd>
      </dl>
      {pictureError ? <p class="error" role="alert">The picture could not be read: {pictureError}</p> : null}
      {picture ? <AlertPicture picture={picture} from={alert.first_seen} to={alert.last_seen} /> : pictureError ? null : <p aria-busy="true">Loading the picture…</p>}
      {picture?.kind === 'activity' ? null : (
        <>
          <h2>The client's requests per hour</h2>
          <ActivityChart activity={activity} from={alert.first_seen} to={alert.last_seen} />
        </>
      )}
      <h2>Evidence</h2>
      <pre class="evidence">{JSON.stringify(alert.evidence, null, 2)}</pre>
      <h2>Requests behind it ({events.length})</h2>
      <div class="scroll">
        <table class="events">
          <thead>
            <tr>
              <th>time</th>
              <th>outcome</th>
              <th>source</th>
              <th>network</th>
              <th>auth</th>
              <th>credential</th>
              <th>user agent</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr>
                <td>{utc(event.time)}</td>
                <td>{event.outcome}{event.error_code ? ` (${event.error_code})` : ''}</td>
                <td>{event.source_ip}</td>
                <td>{event.asn > 0 ? `AS${event.asn} ${event.as_org}` : '-'} {event.country}</td>
                <td>{event.auth_method}</td>
                <td>{event.credential_id || event.assertion_jti || '-'}</td>
                <td class="ua">{event.user_agent}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>The SQL behind it</h2>
      <pre class="sql">{query.sql}</pre>
      <pre class="sql">{JSON.stringify(query.params)}</pre>
    </article>
  );
}
