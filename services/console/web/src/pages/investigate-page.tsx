import { useState } from 'preact/hooks';
import { downloadCsv, runQuery, type QueryTable } from '../api.js';
import { parametersOf, SAVED_QUERIES } from '../investigations.js';

/**
 * Read-only SQL, as `tokenwatch sql` runs it (the same parser guard and limits), with
 * `{name:Type}` parameters as fields, the first 1,000 rows as a table, the whole result as
 * CSV, and every query of docs/investigations.md one click away.
 */
export function InvestigatePage() {
  const [query, setQuery] = useState(SAVED_QUERIES[0]?.sql ?? 'SELECT client_id, uniqExact(event_id) AS requests\nFROM token_requests\nGROUP BY client_id\nORDER BY requests DESC\nLIMIT 20');
  const [values, setValues] = useState<Record<string, string>>({});
  const [table, setTable] = useState<QueryTable | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [running, setRunning] = useState(false);
  const parameters = parametersOf(query);
  const params = Object.fromEntries(parameters.map(({ name }) => [name, values[name] ?? '']));

  const run = () => {
    setRunning(true);
    runQuery(query, params)
      .then((result) => {
        setTable(result);
        setError(undefined);
      })
      .catch((failure: Error) => {
        setTable(undefined);
        setError(failure.message);
      })
      .finally(() => setRunning(false));
  };

  return (
    <section class="investigate">
      <h1>Investigate</h1>
      <div class="investigate-layout">
        <nav class="saved" aria-label="saved queries (docs/investigations.md)">
          <h2>Saved queries</h2>
          <ul>
            {SAVED_QUERIES.map((saved) => (
              <li>
                <button type="button" class="link" onClick={() => setQuery(saved.sql)}>{saved.title}</button>
              </li>
            ))}
          </ul>
        </nav>
        <form
          class="query"
          onSubmit={(event) => {
            event.preventDefault();
            run();
          }}
        >
          <label>
            SQL (read-only; Ctrl+Enter runs it)
            <textarea
              name="sql"
              rows={12}
              spellcheck={false}
              value={query}
              onInput={(event) => setQuery(event.currentTarget.value)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                  event.preventDefault();
                  run();
                }
              }}
            />
          </label>
          {parameters.map(({ name, type }) => (
            <label class="param">
              {name} <span class="type">{type}</span>
              <input name={`param-${name}`} value={values[name] ?? ''} onInput={(event) => setValues({ ...values, [name]: event.currentTarget.value })} />
            </label>
          ))}
          <p>
            <button type="submit" disabled={running}>{running ? 'Running…' : 'Run'}</button>{' '}
            <button type="button" onClick={() => void downloadCsv(query, params).catch((failure: Error) => setError(failure.message))}>Download CSV</button>
          </p>
        </form>
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}
      {table ? (
        <div class="scroll">
          <p class="result-count">
            {table.rows.length.toLocaleString('en')} {table.rows.length === 1 ? 'row' : 'rows'}{table.truncated ? ' shown (the result has more: download the CSV for all of them)' : ''}
          </p>
          <table class="result">
            <thead>
              <tr>
                {table.columns.map((column, index) => (
                  <th title={table.types[index]}>{column}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr>
                  {row.map((value) => (
                    <td>{typeof value === 'string' ? value : JSON.stringify(value)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
