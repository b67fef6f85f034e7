import { ActivityChart } from '../activity-chart.js';
import type { Picture } from '../api.js';
import { GridPicture } from './grid-picture.js';
import { JtiTimeline } from './jti-timeline.js';
import { VolumeBandChart } from './volume-band-chart.js';

const TITLES: Record<Picture['kind'], string> = {
  volume_band: 'Volume against the baseline band',
  jti_timeline: 'The uses of the assertion',
  networks_days: "The client's networks, last 30 days",
  asn_slots: "The client's networks in 5-minute slots of the alert's day",
  traits_weeks: "What the client was granted and ran, per week",
  credentials_timeline: "The client's credentials",
  activity: "The client's requests per hour",
};

/** The picture that fits the alert's finding (/api/alerts/<id>/picture), with its title and caption. */
export function AlertPicture(props: { picture: Picture; from: number; to: number }) {
  const { picture } = props;
  return (
    <section class="alert-picture" data-picture={picture.kind} aria-labelledby="picture-title">
      <h2 id="picture-title">{TITLES[picture.kind]}</h2>
      <PictureOf picture={picture} from={props.from} to={props.to} />
    </section>
  );
}

function PictureOf(props: { picture: Picture; from: number; to: number }) {
  const { picture } = props;
  switch (picture.kind) {
    case 'volume_band':
      return <VolumeBandChart picture={picture} />;
    case 'jti_timeline':
      return <JtiTimeline picture={picture} />;
    case 'networks_days':
      return <GridPicture picture={picture} rowName="network" columnName="day" />;
    case 'asn_slots':
      return <GridPicture picture={picture} rowName="network" columnName="5-minute slot" />;
    case 'traits_weeks':
      return <GridPicture picture={picture} rowName={picture.trait === 'software' ? 'software' : 'scope or audience'} columnName="week" />;
    case 'credentials_timeline':
      return <GridPicture picture={picture} rowName="credential" columnName="day" />;
    case 'activity':
      return (
        <figure class="picture activity" tabIndex={0}>
          <ActivityChart activity={picture} from={props.from} to={props.to} />
          <figcaption><p class="legend">{picture.legend}</p></figcaption>
        </figure>
      );
  }
}
