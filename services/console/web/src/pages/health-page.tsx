import { useEffect, useRef, useState } from 'preact/hooks';
import { readHealth, type Health } from '../api.js';

const POLL_MS = 5_000;

/** Is the pipeline keeping up: ingest rate, consumer lag, detector watermark ages, notifier backlog. */
export function HealthPage() {
  const [health, setHealth] = useState<Health | undefined>();
  const [rate, setRate] = useState<number | undefined>();
  const [error, setError] = useState<string | undefined>();
  const previous = useRef<Health | undefined>(undefined);

  useEffect(() => {
    const load = () =>
      readHealth()
        .then((current) => {
          const before = previous.current;
          // A rate needs two readings: the counters are totals since the process started.
          if (before && current.at > before.at) setRate(((current.ingest.stored - before.ingest.stored) * 1000) / (current.at - before.at));
          previous.current = current;
          setHealth(current);
          setError(undefined);
        })
        .catch((failure: Error) => setError(failure.message));
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, []);

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!health) return <p aria-busy="true">Loading…</p>;
  const lag = Object.values(health.consumerLag).reduce((sum, value) => sum + value, 0);
  return (
    <section>
      <h1>Health</h1>
      <dl class="facts health">
        <dt>ingest rate</dt>
        <dd data-figure="ingest-rate">{rate === undefined ? 'measuring…' : `${rate.toFixed(1)} events/s`}</dd>
        <dt>stored since start</dt>
        <dd data-figure="stored">{health.ingest.stored.toLocaleString('en')} ({health.ingest.deadLettered.toLocaleString('en')} dead-lettered)</dd>
        <dt>consumer lag</dt>
        <dd data-figure="lag">{lag.toLocaleString('en')} messages</dd>
      </dl>
      <h2>Detector watermarks</h2>
      <Table rows={health.watermarkAgeSeconds} head={['detector', 'behind now']} format={(seconds) => `${seconds.toFixed(0)} s`} />
      <h2>Notifier backlog</h2>
      <Table rows={health.notifierPending} head={['channel', 'alert versions waiting']} format={(count) => count.toLocaleString('en')} />
      <h2>Consumer lag by partition</h2>
      <Table rows={health.consumerLag} head={['partition', 'messages behind']} format={(count) => count.toLocaleString('en')} />
    </section>
  );
}

function Table(props: { rows: Record<string, number>; head: [string, string]; format: (value: number) => string }) {
  const entries = Object.entries(props.rows);
  if (entries.length === 0) return <p class="empty">Nothing reported yet.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>{props.head[0]}</th>
          <th>{props.head[1]}</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([name, value]) => (
          <tr>
            <td>{name}</td>
            <td>{props.format(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
