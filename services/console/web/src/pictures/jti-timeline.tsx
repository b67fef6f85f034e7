import type { Picture } from '../api.js';
import { utc } from '../format.js';
import { seriesVar } from './theme.js';

type JtiTimeline = Extract<Picture, { kind: 'jti_timeline' }>;

/** Room for a lane's label (AS and up to ten digits). */
const LEFT = 130;

/**
 * jti_replay and jti_cross_client: each use of the assertion at its time, one lane and one
 * colour per network, hollow when refused; the uses listed below for reading and copying.
 */
export function JtiTimeline(props: { picture: JtiTimeline }) {
  const { picture } = props;
  const networks = [...new Set(picture.uses.map((use) => use.asn))];
  const lane = new Map(networks.map((asn, index) => [asn, index]));
  const first = picture.uses[0]?.time ?? 0;
  const last = picture.uses.at(-1)?.time ?? first;
  const span = Math.max(1, last - first);
  const width = 1000;
  const laneHeight = 28;
  const height = Math.max(1, networks.length) * laneHeight + 24;
  // Lanes start right of their labels; a single use sits in the middle.
  const x = (time: number) => (picture.uses.length < 2 ? width / 2 : LEFT + ((time - first) / span) * (width - LEFT - 40));
  return (
    <figure class="picture jti-timeline" tabIndex={0}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${picture.uses.length} uses of jti ${picture.jti} from ${networks.length} networks`}>
        {networks.map((asn, index) => (
          <g>
            <line x1={LEFT - 12} x2={width - 20} y1={index * laneHeight + 14} y2={index * laneHeight + 14} class="lane" />
            <text x={4} y={index * laneHeight + 18} class="lane-label">AS{asn}</text>
          </g>
        ))}
        {picture.uses.map((use) => (
          <circle
            cx={x(use.time)}
            cy={(lane.get(use.asn) ?? 0) * laneHeight + 14}
            r={7}
            style={{ stroke: seriesVar(lane.get(use.asn) ?? 0), fill: use.outcome === 'success' ? seriesVar(lane.get(use.asn) ?? 0) : 'var(--bg)' }}
            class="use"
          >
            <title>{`${utc(use.time)} ${use.outcome}${use.error_code ? ` (${use.error_code})` : ''} from ${use.source_ip} AS${use.asn} ${use.country} by ${use.client_id}`}</title>
          </circle>
        ))}
        <text x={LEFT} y={height - 4} class="axis-label">{utc(first)}</text>
        <text x={width - 40} y={height - 4} class="axis-label" text-anchor="end">{utc(last)}</text>
      </svg>
      <figcaption>
        <p class="legend">{picture.legend}{picture.truncated ? ' Only the first 200 uses are shown.' : ''}</p>
        <div class="scroll">
          <table class="jti-uses">
            <thead>
              <tr><th>time</th><th>network</th><th>source</th><th>client</th><th>outcome</th></tr>
            </thead>
            <tbody>
              {picture.uses.map((use) => (
                <tr>
                  <td>{utc(use.time)}</td>
                  <td><span class="key" style={{ background: seriesVar(lane.get(use.asn) ?? 0) }} aria-hidden="true" /> AS{use.asn} {use.as_org} {use.country}</td>
                  <td>{use.source_ip}</td>
                  <td>{use.client_id}</td>
                  <td>{use.outcome}{use.error_code ? ` (${use.error_code})` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </figcaption>
    </figure>
  );
}
