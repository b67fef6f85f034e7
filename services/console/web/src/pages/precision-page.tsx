import { useEffect, useState } from 'preact/hooks';
import { readPrecision, type PrecisionRow } from '../api.js';

/** Precision per finding from on-call's verdicts: what to tune first. */
export function PrecisionPage() {
  const [rows, setRows] = useState<PrecisionRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    readPrecision(90)
      .then((answer) => setRows(answer.findings))
      .catch((failure: Error) => setError(failure.message));
  }, []);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!rows) return <p aria-busy="true">Loading…</p>;
  return (
    <section>
      <h1>Precision</h1>
      <p class="empty">Alerts raised in the last 90 days. Precision: true positives among alerts with a verdict (needs tuning counts against it).</p>
      <table class="precision">
        <thead>
          <tr>
            <th>finding</th>
            <th>alerts</th>
            <th>true positive</th>
            <th>benign</th>
            <th>needs tuning</th>
            <th>no verdict</th>
            <th>precision</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr>
              <td>{row.finding}</td>
              <td>{row.alerts}</td>
              <td>{row.true_positive}</td>
              <td>{row.benign}</td>
              <td>{row.needs_tuning}</td>
              <td>{row.without_verdict}</td>
              <td>{row.precision === null ? '-' : `${Math.round(row.precision * 100)}%`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
