import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Picture } from '../api.js';
import { themeColour } from './theme.js';

type VolumeBand = Extract<Picture, { kind: 'volume_band' }>;

/**
 * mint_volume and invalid_client_burst: the client's count per bucket around the alert, the
 * band from the baseline median to the detector's threshold behind it, the alert's buckets
 * shaded. A burst is the line leaving the band.
 */
export function VolumeBandChart(props: { picture: VolumeBand }) {
  const holder = useRef<HTMLDivElement>(null);
  const { picture } = props;

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const { band, marked } = picture;
    const background: uPlot.Plugin = {
      hooks: {
        drawClear: (plot) => {
          const { ctx, bbox } = plot;
          ctx.save();
          // The band: median to threshold, the range the detector called normal.
          const top = plot.valToPos(band.threshold, 'y', true);
          const bottom = plot.valToPos(band.median, 'y', true);
          ctx.fillStyle = themeColour('--band-normal');
          ctx.fillRect(bbox.left, top, bbox.width, Math.max(1, bottom - top));
          ctx.strokeStyle = themeColour('--muted');
          ctx.setLineDash([4, 4]);
          ctx.beginPath();
          ctx.moveTo(bbox.left, top);
          ctx.lineTo(bbox.left + bbox.width, top);
          ctx.stroke();
          // The alert's buckets.
          const left = plot.valToPos(marked.from / 1000, 'x', true);
          const right = plot.valToPos(marked.to / 1000, 'x', true);
          ctx.fillStyle = themeColour('--band');
          // At least 8 px: one 5-minute bucket of a day is under a pixel wide.
          const wide = Math.max(8 * devicePixelRatio, right - left);
          ctx.fillRect((left + right) / 2 - wide / 2, bbox.top, wide, bbox.height);
          ctx.restore();
        },
      },
    };
    const axis = { stroke: themeColour('--muted'), grid: { stroke: themeColour('--line') }, ticks: { stroke: themeColour('--line') } };
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 240,
        plugins: [background],
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (_plot, min, max) => [0, Math.max(max, band.threshold * 1.1, 1)] } },
        axes: [axis, axis],
        series: [{}, { label: picture.series === 'failures' ? 'failed authentications' : 'tokens issued', stroke: themeColour(picture.series === 'failures' ? '--high' : '--accent'), width: 1.5 }],
      },
      [picture.buckets.map((at) => at / 1000), picture.counts],
      element,
    );
    const resize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height: 240 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [picture]);

  const peak = Math.max(0, ...picture.counts);
  return (
    <figure class="picture volume-band" tabIndex={0}>
      <div class="chart" ref={holder} role="img" aria-label={`${picture.series} per ${picture.bucket_minutes} minutes, at most ${peak}, against a band from ${picture.band.median} to ${picture.band.threshold}`} />
      <figcaption>
        <span class="key band-normal" aria-hidden="true" /> baseline band (median {picture.band.median} to threshold {picture.band.threshold}){' '}
        <span class="key band-alert" aria-hidden="true" /> the alert's buckets
        <p class="legend">{picture.legend}</p>
      </figcaption>
    </figure>
  );
}
