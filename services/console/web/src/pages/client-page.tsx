import { useEffect, useState } from 'preact/hooks';
import { ActivityChart } from '../activity-chart.js';
import { readClient, type ClientStory } from '../api.js';
import { utc } from '../format.js';
import { Link } from '../router.js';

/** A client's whole story: 30 days of requests, credentials, networks, scopes, software, alerts, owner. */
export function ClientPage() {
  const params = new URLSearchParams(location.search);
  const tenant = params.get('tenant') ?? '';
  const clientId = params.get('client') ?? '';
  const [story, setStory] = useState<ClientStory | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    readClient(tenant, clientId)
      .then((found) => {
        setStory(found);
        setError(undefined);
      })
      .catch((failure: Error) => setError(failure.message));
  }, [tenant, clientId]);

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!story) return <p aria-busy="true">Loading…</p>;
  const owner = story.owner;
  return (
    <article class="client">
      <h1>
        {story.client_name || story.client_id} <span class="tenant">{story.tenant}</span>
      </h1>
      <dl class="facts">
        <dt>client id</dt>
        <dd><code>{story.client_id}</code></dd>
        <dt>owner</dt>
        <dd>{owner ? `${owner.owner}${owner.team ? `, ${owner.team}` : ''}${owner.criticality ? ` (criticality ${owner.criticality})` : ''}${owner.slack_channel ? `, ${owner.slack_channel}` : ''}` : 'no inventory entry'}</dd>
        <dt>first request</dt>
        <dd>{utc(story.first_ms)}</dd>
        <dt>last request</dt>
        <dd>{utc(story.last_ms)}</dd>
      </dl>
      <h2>Requests per hour, last 30 days</h2>
      <ActivityChart activity={story.activity} />
      <h2>Credentials and auth methods</h2>
      <Rows
        head={['auth method', 'credential', 'first use', 'last use', 'requests', 'failures', 'networks (ASN)']}
        rows={story.credentials.map((row) => [row.auth_method, row.credential_id || '-', utc(row.first_ms), utc(row.last_ms), row.requests, row.failures, row.asns.map((asn) => `AS${asn}`).join(' ')])}
        name="credentials"
      />
      <h2>Networks and countries</h2>
      <Rows
        head={['network', 'country', 'provider', 'first seen', 'last seen', 'requests', 'failures']}
        rows={story.networks.map((row) => [row.asn > 0 ? `AS${row.asn} ${row.as_org}` : 'unknown', row.country || '-', row.hosting_provider || '-', utc(row.first_ms), utc(row.last_ms), row.requests, row.failures])}
        name="networks"
      />
      <h2>Scopes and audiences granted, last 30 days</h2>
      <Rows head={['scope or audience', 'kind', 'requests', 'first', 'last']} rows={story.scopes.map((row) => [row.value, row.kind, row.requests, utc(row.first_ms), utc(row.last_ms)])} name="scopes" />
      <h2>Client software, last 30 days</h2>
      <Rows head={['software', 'user agent (an example)', 'requests', 'first', 'last']} rows={story.user_agents.map((row) => [row.value, row.example, row.requests, utc(row.first_ms), utc(row.last_ms)])} name="software" />
      <h2>Alerts</h2>
      {story.alerts.length === 0 ? (
        <p class="empty">No alerts.</p>
      ) : (
        <ul class="client-alerts">
          {story.alerts.map((alert) => (
            <li>
              <span class={`severity ${alert.severity}`}>{alert.severity}</span> <span class={`status ${alert.status}`}>{alert.status}</span> {alert.finding}: <Link href={`/alerts/${alert.alert_id}`}>{alert.summary}</Link>{' '}
              <span class="tenant">{utc(alert.last_ms)}</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function Rows(props: { head: string[]; rows: Array<Array<string | number>>; name: string }) {
  if (props.rows.length === 0) return <p class="empty">None recorded.</p>;
  return (
    <div class="scroll">
      <table class={`client-${props.name}`}>
        <thead>
          <tr>{props.head.map((cell) => <th>{cell}</th>)}</tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>{row.map((cell) => <td>{typeof cell === 'number' ? cell.toLocaleString('en') : cell}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
