import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry };

/**
 * The process's Prometheus registry. Each service registers its own instruments here and
 * the metrics endpoint serves them all; tests read values back through `registry`.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  // The default collectors' names already start with process_ / nodejs_.
  collectDefaultMetrics({ register: registry, prefix: 'tokenwatch_' });
  // prom-client reports the heap's size but not its cap, which the `tokenwatch` command sets
  // (services/cli/bin/tokenwatch): used against limit is how close the process is to
  // "JavaScript heap out of memory". Fixed when the process starts.
  new Gauge({
    name: 'tokenwatch_nodejs_heap_size_limit_bytes',
    help: 'The V8 heap limit (--max-old-space-size plus the young generation), fixed at start-up.',
    registers: [registry],
  }).set(getHeapStatistics().heap_size_limit);
  return registry;
}

/** What a bounded label reports for a value past its cap. */
export const OTHER_LABEL = 'other';
/** Longest label value kept from input; longer ones are cut. */
export const MAX_LABEL_VALUE_LENGTH = 64;

/**
 * A label whose values come from input (an IdP field, a remote service's error code), bounded
 * so that input cannot grow the label set without limit: the first `max` distinct values, each
 * cut to MAX_LABEL_VALUE_LENGTH characters, are reported as they are; every later new value is
 * reported as `other`. What was first seen stays for the life of the process.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(readonly max: number) {}

  of(raw: string): string {
    const value = raw.slice(0, MAX_LABEL_VALUE_LENGTH);
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}

/** Distinct input values a bounded label reports before it reports `other`. */
export const INPUT_LABEL_CAP = 20;

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(registry: Registry) {
  const events = (name: string, help: string) =>
    new Counter({ name: `tokenwatch_ingest_events_${name}_total`, help, registers: [registry] });
  return {
    consumed: events('consumed', 'Messages read from the input topic.'),
    stored: events('stored', 'Valid events sent to ClickHouse.'),
    duplicate: events('duplicate', 'Events whose event_id repeated within a batch (cross-batch repeats collapse in storage).'),
    deadLettered: events('dead_lettered', 'Messages sent to the dead-letter topic: invalid, or holding an event ClickHouse refused.'),
    refused: events('refused', 'Valid events ClickHouse refused (their messages are dead-lettered with its reason).'),
    expired: events('expired', 'Valid events older than TOKENWATCH_RETENTION_DAYS, not stored (the TTL would drop them).'),
    skipped: events('skipped', 'Valid records that are not client token requests.'),
    batchSize: new Histogram({
      name: 'tokenwatch_ingest_batch_size',
      help: 'Messages per processed batch.',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000],
      registers: [registry],
    }),
    inserts: new Counter({
      name: 'tokenwatch_ingest_inserts_total',
      help: 'INSERT statements sent: one per batch, more when a batch is split by partition or around refused rows.',
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'tokenwatch_ingest_insert_seconds',
      help: 'Time to decode and store one batch in ClickHouse, splits included.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    unknownAuthMethod: new Counter({
      name: 'tokenwatch_ingest_unknown_auth_method_total',
      help: `Events whose IdP auth-method value is not mapped (stored as \`unknown\`), by that value: the first ${INPUT_LABEL_CAP} distinct values (cut to ${MAX_LABEL_VALUE_LENGTH} characters), then "${OTHER_LABEL}".`,
      labelNames: ['value'],
      registers: [registry],
    }),
    /** Bounds unknownAuthMethod's `value` label, which comes from input. */
    unknownAuthMethodValue: new BoundedLabel(INPUT_LABEL_CAP),
    insertErrors: new Counter({ name: 'tokenwatch_ingest_insert_errors_total', help: 'Batch attempts that failed because ClickHouse was unavailable after retries (the consumer pauses and retries them).', registers: [registry] }),
    // From the broker (log end minus the group's committed offset), not from fetched batches, so
    // a stalled worker shows its lag growing instead of the last value it saw.
    consumerLag: new Gauge({
      name: 'tokenwatch_ingest_consumer_lag',
      help: 'Messages in the input topic not yet committed by the consumer group, by partition (polled from the broker).',
      labelNames: ['partition'],
      registers: [registry],
    }),
  };
}

export type DetectorMetrics = ReturnType<typeof createDetectorMetrics>;

/**
 * One set of instruments per registry: a component started again in the same process (a
 * replica elected leader a second time, TOKENWATCH_LEADER_ELECTION) goes on counting on the
 * instruments it registered the first time; prom-client refuses a second registration.
 */
function oncePerRegistry<T>(create: (registry: Registry) => T): (registry: Registry) => T {
  const made = new WeakMap<Registry, T>();
  return (registry) => {
    const existing = made.get(registry);
    if (existing !== undefined) return existing;
    const instruments = create(registry);
    made.set(registry, instruments);
    return instruments;
  };
}

export const createDetectorMetrics = oncePerRegistry((registry: Registry) => {
  return {
    runSeconds: new Histogram({
      name: 'tokenwatch_detector_run_seconds',
      help: 'Time one detector takes for one window of new data.',
      labelNames: ['detector'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    watermarkAgeSeconds: new Gauge({
      name: 'tokenwatch_detector_watermark_age_seconds',
      help: 'How far behind now each detector has examined arrived data.',
      labelNames: ['detector'],
      registers: [registry],
    }),
    alertsRaised: new Counter({
      name: 'tokenwatch_detector_alerts_raised_total',
      help: 'New alerts, by finding.',
      labelNames: ['finding'],
      registers: [registry],
    }),
    alertsUpdated: new Counter({
      name: 'tokenwatch_detector_alerts_updated_total',
      help: 'Stored alerts that grew, escalated, re-fired or resolved, by finding.',
      labelNames: ['finding'],
      registers: [registry],
    }),
    runErrors: new Counter({
      name: 'tokenwatch_detector_run_errors_total',
      help: 'Detector runs that failed (retried at the next tick from the same watermark).',
      labelNames: ['detector'],
      registers: [registry],
    }),
  };
});

export type TapMetrics = ReturnType<typeof createTapMetrics>;

/**
 * The assertion tap's instruments. The event counters follow the fate of each event through
 * the bounded queue (published, dropped); together with the depth they show whether Kafka
 * keeps up, since the proxy never waits for it.
 */
export function createTapMetrics(registry: Registry) {
  const counter = (name: string, help: string) => new Counter({ name: `tokenwatch_tap_${name}_total`, help, registers: [registry] });
  return {
    requests: new Counter({
      name: 'tokenwatch_tap_requests_total',
      help: 'Requests proxied to the upstream; endpoint="token" ones are reported as events, "other" ones only relayed.',
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tokenwatch_tap_requests_rejected_total',
      help: 'Requests and connections the tap refused without forwarding, by reason: target_not_origin_form (400), body_too_large (413), connection_limit (dropped).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    upstreamErrors: counter('upstream_errors', 'Requests whose upstream could not be reached (502), did not answer in time (504) or whose response broke off.'),
    eventsPublished: counter('events_published', 'Events acknowledged by Kafka.'),
    eventsDropped: counter('events_dropped', 'Events dropped: the oldest when the bounded queue is full, one Kafka refuses as too large, and what is undelivered at shutdown.'),
    eventsInvalid: counter('events_invalid', 'Token requests for which no valid event could be built (each is logged with the reason).'),
    publishErrors: counter('publish_errors', 'Failed Kafka connect or send attempts (each is retried with back-off).'),
    queueDepth: new Gauge({ name: 'tokenwatch_tap_queue_depth', help: 'Events waiting in memory for Kafka, not counting a batch being sent.', registers: [registry] }),
    queueCapacity: new Gauge({ name: 'tokenwatch_tap_queue_capacity', help: 'How many events the queue holds before it drops the oldest.', registers: [registry] }),
  };
}

export type FollowMetrics = ReturnType<typeof createFollowMetrics>;

/**
 * `produce --follow`'s instruments: lines whose publication the broker acknowledged, lines
 * dead-lettered instead, the file events of `tail -F`, and the acknowledged offset (a position
 * that stops moving while the file grows means the broker is not acknowledging).
 */
export function createFollowMetrics(registry: Registry) {
  const counter = (name: string, help: string) => new Counter({ name: `tokenwatch_follow_${name}_total`, help, registers: [registry] });
  return {
    linesPublished: counter('lines_published', 'Lines of the followed file acknowledged by Kafka.'),
    linesDeadLettered: counter('lines_dead_lettered', 'Lines sent to the dead-letter topic instead: longer than the line limit, or refused by Kafka as too large.'),
    rotations: counter('rotations', 'Times the path named a new file (rotation): the old one was read to its end first.'),
    truncations: counter('truncations', 'Times the followed file became shorter than what was read (truncation): reading started again at 0.'),
    publishErrors: counter('publish_errors', 'Failed Kafka sends (each is retried with back-off; the position does not move meanwhile).'),
    position: new Gauge({ name: 'tokenwatch_follow_position_bytes', help: 'Offset in the followed file up to which Kafka acknowledged every line (the saved position).', registers: [registry] }),
  };
}

export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;

/** The notifier's instruments; `channel_kind` is slack, terminal, jsonl or webhook. */
export const createNotifierMetrics = oncePerRegistry((registry: Registry) => {
  return {
    deliveries: new Counter({
      name: 'tokenwatch_notifier_deliveries_total',
      help: 'Messages delivered, by channel kind and message (root, reply, update, digest, delivery).',
      labelNames: ['channel_kind', 'message'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'tokenwatch_notifier_retries_total',
      help: 'Delivery attempts retried, by channel kind and reason (rate_limited, ambiguous, network, http_<status> of a webhook answer: 408, 429, 5xx).',
      labelNames: ['channel_kind', 'reason'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'tokenwatch_notifier_failures_total',
      help: `Deliveries refused or given up on, by channel kind and reason (Slack error code or HTTP status; Slack's codes: the first ${INPUT_LABEL_CAP} distinct ones, then "${OTHER_LABEL}").`,
      labelNames: ['channel_kind', 'reason'],
      registers: [registry],
    }),
    /** Bounds the `reason` of failures when it is an error code Slack sent. */
    slackErrorCode: new BoundedLabel(INPUT_LABEL_CAP),
    lookups: new Counter({
      name: 'tokenwatch_notifier_slack_lookups_total',
      help: 'Searches of Slack history for a possibly posted message after an ambiguous failure, by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
    roundErrors: new Counter({
      name: 'tokenwatch_notifier_round_errors_total',
      help: 'Poll rounds that failed before delivering (ClickHouse unreachable, a bug); retried at the next poll.',
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'tokenwatch_notifier_pending_alert_versions',
      help: 'Alert versions read but not yet delivered at the end of the last poll.',
      labelNames: ['channel_kind'],
      registers: [registry],
    }),
  };
});

export type InventoryMetrics = ReturnType<typeof createInventoryMetrics>;

/** The client inventory's reloads (TOKENWATCH_INVENTORY): a refused edit must be visible. */
export function createInventoryMetrics(registry: Registry) {
  return {
    clients: new Gauge({ name: 'tokenwatch_inventory_clients', help: 'Clients in the inventory in use.', registers: [registry] }),
    reloads: new Counter({ name: 'tokenwatch_inventory_reloads_total', help: 'Times a changed inventory file was loaded.', registers: [registry] }),
    reloadErrors: new Counter({
      name: 'tokenwatch_inventory_reload_errors_total',
      help: 'Changed inventory files refused (the last good inventory stays in use).',
      registers: [registry],
    }),
  };
}

/** Leader election of `tokenwatch start` replicas (TOKENWATCH_LEADER_ELECTION). */
export const createLeaderMetrics = oncePerRegistry((registry: Registry) => ({
  leader: new Gauge({
    name: 'tokenwatch_leader',
    help: '1 while this process runs the detectors and the notifier (always, with TOKENWATCH_LEADER_ELECTION=off; the elected replica with on), else 0.',
    registers: [registry],
  }),
  elections: new Counter({
    name: 'tokenwatch_leader_elections_total',
    help: 'Times this process was elected leader and started the detectors and the notifier.',
    registers: [registry],
  }),
}));
