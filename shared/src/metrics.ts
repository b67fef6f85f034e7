import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry. Each service registers its own instruments here and
 * the metrics endpoint serves them all; tests read values back through `registry`.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tokenwatch_process_' });
  return registry;
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(registry: Registry) {
  const events = (name: string, help: string) =>
    new Counter({ name: `tokenwatch_ingest_events_${name}_total`, help, registers: [registry] });
  return {
    consumed: events('consumed', 'Messages read from the input topic.'),
    stored: events('stored', 'Valid events sent to ClickHouse.'),
    duplicate: events('duplicate', 'Events whose event_id repeated within a batch (cross-batch repeats collapse in storage).'),
    deadLettered: events('dead_lettered', 'Invalid messages sent to the dead-letter topic.'),
    skipped: events('skipped', 'Valid records that are not client token requests.'),
    batchSize: new Histogram({
      name: 'tokenwatch_ingest_batch_size',
      help: 'Messages per processed batch.',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'tokenwatch_ingest_insert_seconds',
      help: 'Time to insert one batch into ClickHouse.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    unknownAuthMethod: new Counter({
      name: 'tokenwatch_ingest_unknown_auth_method_total',
      help: 'Events whose IdP auth-method value is not mapped (stored as `unknown`), by that value.',
      labelNames: ['value'],
      registers: [registry],
    }),
    insertErrors: new Counter({ name: 'tokenwatch_ingest_insert_errors_total', help: 'Batches whose insert failed after retries.', registers: [registry] }),
  };
}
