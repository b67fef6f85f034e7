import type { ClickHouseClient } from '@clickhouse/client';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { openEnricherFromSettings } from './enrich/from-settings.js';
import { FORMATS } from './formats/registry.js';
import { decodeMessage } from './decode.js';
import type { DecodeResult } from './results.js';
import { DeadLetterGuard } from './dead-letter-guard.js';
import { createIngestPipeline } from './pipeline.js';
import { BatchingConsumer } from './batching-consumer.js';
import { createKafka, createProducer, ensureTopics } from '@tokenwatch/shared/kafka/client';
import { startLagMonitor } from './consumer-lag.js';
import { DeadLetterPublisher } from './dead-letter.js';
import type { Logger } from '@tokenwatch/shared/log';
import { createIngestMetrics } from '@tokenwatch/shared/metrics';
import type { Registry } from 'prom-client';

export interface IngestService {
  /** Settles when the worker stops: resolves after `stop()`, rejects on a fatal error. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** Whether the consumer has joined its group and is fetching (readiness): false while paused. */
  consuming(): boolean;
  /** Why it is not consuming (paused while ClickHouse or the broker is down, ...); undefined when it is. */
  notConsumingBecause(): string | undefined;
  /** Total consumer lag at the last poll of the broker, undefined before the first. */
  lag(): number | undefined;
  /**
   * The worker's decoder (its formats and IP enrichment), for writers in the same process that
   * store records without the broker (the demo's back-fill), so the enrichment loads once.
   */
  decode(record: Buffer | string | null): DecodeResult[];
}

/**
 * The ingest worker: consume the token-request topic in batches, store valid events,
 * dead-letter the rest (what does not decode, what ClickHouse refuses), commit. It pauses
 * while ClickHouse or the broker is unavailable and resumes by itself; it stops only on the
 * dead-letter limit, a non-retriable broker error or a bug. This module only wires the pieces.
 */
export async function startIngest(options: {
  settings: Settings;
  logger: Logger;
  clickhouse: ClickHouseClient;
  registry: Registry;
}): Promise<IngestService> {
  const { settings, clickhouse, registry } = options;
  const logger = options.logger.child({ component: 'ingest' });
  const enricher = await openEnricherFromSettings(settings, logger);
  const decode = (record: Buffer | string | null) => decodeMessage(record, { adapters: FORMATS, format: settings.TOKENWATCH_FORMAT, enrich: enricher.enrich });
  const kafka = createKafka(settings, logger);
  await ensureTopics(settings, logger, [
    { topic: settings.TOKENWATCH_TOPIC, numPartitions: settings.TOKENWATCH_TOPIC_PARTITIONS },
    { topic: settings.TOKENWATCH_DLQ_TOPIC, numPartitions: 1 },
  ]);

  const metrics = createIngestMetrics(registry);
  const producer = createProducer(kafka);
  await producer.connect();
  const ingestBatch = createIngestPipeline({
    clickhouse,
    deadLetters: new DeadLetterPublisher(producer, settings.TOKENWATCH_DLQ_TOPIC),
    guard: new DeadLetterGuard(settings.TOKENWATCH_DLQ_MAX_RATIO, settings.TOKENWATCH_DLQ_MIN_MESSAGES, `topic ${settings.TOKENWATCH_TOPIC}`),
    metrics,
    retentionDays: settings.TOKENWATCH_RETENTION_DAYS,
    decode,
  });
  const consumer = new BatchingConsumer({
    kafka,
    groupId: settings.TOKENWATCH_CONSUMER_GROUP,
    topic: settings.TOKENWATCH_TOPIC,
    maxBatchSize: settings.TOKENWATCH_BATCH_MAX_EVENTS,
    maxBatchWaitMs: settings.TOKENWATCH_BATCH_MAX_WAIT_MS,
    maxFetchBytes: settings.KAFKA_FETCH_MAX_MB * 1024 * 1024,
    sessionTimeoutMs: settings.KAFKA_SESSION_TIMEOUT_MS,
    logger,
    onBatch: ingestBatch,
  });
  await consumer.start();
  logger.info({ topic: settings.TOKENWATCH_TOPIC, group: settings.TOKENWATCH_CONSUMER_GROUP }, 'ingest worker consuming');

  const lag = startLagMonitor({ kafka, groupId: settings.TOKENWATCH_CONSUMER_GROUP, topic: settings.TOKENWATCH_TOPIC, gauge: metrics.consumerLag, logger });

  const done = consumer.done.finally(() => Promise.all([producer.disconnect(), lag.stop()]));
  return {
    done: done.then(() => undefined),
    stop: async () => {
      await consumer.stop();
      await done;
    },
    consuming: () => consumer.consuming,
    notConsumingBecause: () => consumer.notConsumingBecause,
    lag: () => lag.total(),
    decode,
  };
}
