import type { Registry } from '@tokenwatch/shared/metrics';

/**
 * The health page's figures, read from this process's own metrics registry (what /metrics
 * serves), so the page and Prometheus never disagree. Counters are totals: the page turns two
 * readings into a rate.
 */
export interface Health {
  readonly at: number;
  /** Events stored, dead-lettered and consumed since the process started. */
  readonly ingest: { readonly stored: number; readonly deadLettered: number; readonly consumed: number };
  /** Messages behind the log end, per partition. */
  readonly consumerLag: Record<string, number>;
  /** Seconds each detector's examined arrivals are behind now. */
  readonly watermarkAgeSeconds: Record<string, number>;
  /** Alert versions waiting for delivery, per kind of channel. */
  readonly notifierPending: Record<string, number>;
}

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

export async function readHealth(registry: Registry, now: number): Promise<Health> {
  const metrics = new Map((await registry.getMetricsAsJSON()).map((metric) => [metric.name, metric]));
  const total = (name: string) => (metrics.get(name)?.values ?? []).reduce((sum, sample) => sum + Number(sample.value), 0);
  return {
    at: now,
    ingest: {
      stored: total('tokenwatch_ingest_events_stored_total'),
      deadLettered: total('tokenwatch_ingest_events_dead_lettered_total'),
      consumed: total('tokenwatch_ingest_events_consumed_total'),
    },
    consumerLag: byLabel(metrics.get('tokenwatch_ingest_consumer_lag'), 'partition'),
    watermarkAgeSeconds: byLabel(metrics.get('tokenwatch_detector_watermark_age_seconds'), 'detector'),
    notifierPending: byLabel(metrics.get('tokenwatch_notifier_pending_alert_versions'), 'channel_kind'),
  };
}

/** A gauge's samples keyed by one label (at most 100: the page shows a table, not a dump). */
function byLabel(metric: MetricJson | undefined, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of (metric?.values ?? []).slice(0, 100)) out[String(sample.labels[label] ?? '')] = Number(sample.value);
  return out;
}
