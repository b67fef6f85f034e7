import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ClientActivity } from './api.js';

/**
 * A client's requests per hour, successes and failures, with an alert's span shaded when
 * given: a burst, a wake after silence or a failure storm is visible at a glance. uPlot draws on a canvas; its colours follow the page's theme.
 */
export function ActivityChart(props: { activity: ClientActivity; from?: number; to?: number }) {
  const holder = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const style = getComputedStyle(document.documentElement);
    const colour = (name: string) => style.getPropertyValue(name).trim();
    const { hours, successes, failures } = props.activity;
    const shade: uPlot.Plugin = {
      hooks: {
        drawClear: (plot) => {
          if (props.from === undefined) return;
          const left = plot.valToPos(props.from / 1000, 'x', true);
          const right = plot.valToPos(Math.max(props.to ?? props.from, props.from + 3_600_000) / 1000, 'x', true);
          plot.ctx.save();
          plot.ctx.fillStyle = colour('--band');
          plot.ctx.fillRect(left, plot.bbox.top, Math.max(2, right - left), plot.bbox.height);
          plot.ctx.restore();
        },
      },
    };
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 220,
        plugins: [shade],
        // On-call works in UTC (every time on the page is UTC), whatever the laptop's zone.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
        scales: { x: { time: true } },
        axes: [
          { stroke: colour('--muted'), grid: { stroke: colour('--line') }, ticks: { stroke: colour('--line') } },
          { stroke: colour('--muted'), grid: { stroke: colour('--line') }, ticks: { stroke: colour('--line') } },
        ],
        series: [
          {},
          { label: 'successes', stroke: colour('--accent'), width: 1.5 },
          { label: 'failures', stroke: colour('--high'), width: 1.5 },
        ],
      },
      [hours.map((hour) => hour / 1000), successes, failures],
      element,
    );
    const resize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height: 220 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [props.activity, props.from, props.to]);

  return <div class="chart" ref={holder} role="img" aria-label="requests per hour of this client, successes and failures, with the alert's span shaded" />;
}
