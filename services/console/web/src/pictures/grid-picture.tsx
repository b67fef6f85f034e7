import type { GridRow, Picture } from '../api.js';
import { utc } from '../format.js';

type Grid = Extract<Picture, { kind: 'networks_days' | 'asn_slots' | 'traits_weeks' | 'credentials_timeline' }>;

/**
 * The grid pictures: one row per network, ASN, scope, software family or credential, one
 * strip of cells per column of time (a day, a week, a 5-minute slot), darker for more
 * requests; the alert's rows first and marked. A table, so it reads row by row with a screen
 * reader and scrolls sideways on a phone.
 */
export function GridPicture(props: { picture: Grid; rowName: string; columnName: string }) {
  const { picture } = props;
  const first = picture.columns[0] ?? 0;
  const last = (picture.columns.at(-1) ?? first) + picture.column_ms;
  return (
    <figure class={`picture grid ${picture.kind.replace(/_/g, '-')}`}>
      <div class="scroll" tabIndex={0}>
        <table class="grid-rows">
          <thead>
            <tr>
              <th>{props.rowName}</th>
              <th class="detail">detail</th>
              <th>first seen</th>
              <th>last seen</th>
              <th>requests</th>
              <th class="strip-head">
                per {props.columnName}, {utc(first).slice(0, 10)} to {utc(last - 1).slice(0, 10)}
              </th>
            </tr>
          </thead>
          <tbody>
            {picture.rows.map((row) => (
              <tr class={row.marked ? 'marked' : undefined}>
                <th scope="row">
                  {row.marked ? <span class="mark" title="marked by the alert">◆ </span> : null}
                  <span class="row-label">{row.label}</span>
                </th>
                <td class="detail">{row.detail}</td>
                <td class="seen" data-label="first">{utc(row.first_ms)}</td>
                <td class="seen" data-label="last">{utc(row.last_ms)}</td>
                <td class="requests" data-label="requests">{row.requests.toLocaleString('en')}</td>
                <td class="strip-cell"><Strip row={row} columns={picture.columns} columnName={props.columnName} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <figcaption>
        {picture.rows.length === 0 ? <p class="empty">Nothing recorded in this span.</p> : null}
        <p class="legend">
          {picture.rows.some((row) => row.marked) ? <><span class="mark">◆</span> marked by the alert. </> : null}
          {picture.legend}
          {picture.truncated ? ' Only the first 40 rows are shown.' : ''}
        </p>
      </figcaption>
    </figure>
  );
}

function Strip(props: { row: GridRow; columns: number[]; columnName: string }) {
  const { row } = props;
  const peak = Math.max(1, ...row.cells);
  const used = row.cells.filter((count) => count > 0).length;
  return (
    <svg class="strip" viewBox={`0 0 ${row.cells.length} 1`} preserveAspectRatio="none" role="img" aria-label={`used in ${used} of ${row.cells.length} ${props.columnName}s`}>
      {row.cells.map((count, index) =>
        count > 0 ? (
          <rect x={index} y={0} width={1} height={1} class={row.marked ? 'cell marked' : 'cell'} style={{ opacity: 0.35 + (0.65 * Math.log1p(count)) / Math.log1p(peak) }}>
            <title>{`${utc(props.columns[index] ?? 0).slice(0, 16)}: ${count}`}</title>
          </rect>
        ) : null,
      )}
    </svg>
  );
}
