import type { Producer } from 'kafkajs';
import { createKafka, createProducer, ensureTopics, type KafkaSettings } from '@tokenwatch/shared/kafka/client';
import { errorMessage } from '@tokenwatch/shared/errors';
import { isMessageTooLarge, MAX_REQUEST_BYTES, RECORD_OVERHEAD_BYTES, requestEnd } from '@tokenwatch/shared/kafka/requests';
import type { Logger } from '@tokenwatch/shared/log';
import type { TapMetrics } from '@tokenwatch/shared/metrics';

export interface SinkMessage {
  readonly key: string;
  readonly value: string;
}

export interface SinkStats {
  /** Events waiting in memory (not counting a batch being sent). */
  queued: number;
  /** Events acknowledged by Kafka. */
  produced: number;
  /** Events dropped because the queue was full (the oldest go first), refused by Kafka as too large, or still queued at close. */
  dropped: number;
  /** Failed send or connect attempts (each is retried with back-off). */
  sendErrors: number;
}

/** Messages per produce request. */
const MAX_BATCH_MESSAGES = 500;
/**
 * Key and value bytes per produce request (shared/kafka/requests), so that one request of 500
 * events of a few kilobytes each is not refused as a whole. A broker with a lower limit is learnt (below).
 */
export const MAX_BATCH_BYTES = MAX_REQUEST_BYTES;

const recordBytes = (message: SinkMessage) => Buffer.byteLength(message.key) + Buffer.byteLength(message.value) + RECORD_OVERHEAD_BYTES;

/**
 * A bounded in-memory queue drained to Kafka by one background loop. `push` never blocks and
 * never throws, so the proxy gains no failure mode from Kafka: when the broker is down events
 * wait here, and when the queue is full the OLDEST queued event is dropped and counted. Oldest,
 * because the tap serves detection "within seconds": after an outage the recent requests matter
 * more than the ones from the start of it. A batch being sent is out of the queue; if sending
 * fails it goes back to the front (and the oldest beyond capacity are dropped).
 */
export class KafkaEventSink {
  private queue: SinkMessage[] = [];
  private readonly stats_: SinkStats = { queued: 0, produced: 0, dropped: 0, sendErrors: 0 };
  private producer: Producer | undefined;
  private ready = false;
  private closing = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastDropLog = 0;
  /** The batch being sent, out of the queue. */
  private inflight: SinkMessage[] = [];
  /** Set when close() gave up waiting: what is still queued or in flight was counted as dropped. */
  private abandoned = false;
  /** Bytes per batch: MAX_BATCH_BYTES (or the option) until the broker refuses a batch as too large. */
  private maxBatchBytes: number;

  constructor(
    private readonly options: {
      settings: KafkaSettings & { TOKENWATCH_TOPIC_PARTITIONS: number };
      logger: Logger;
      /** The queue's instruments: the same counts as stats(), for the metrics endpoint. */
      metrics: Pick<TapMetrics, 'eventsPublished' | 'eventsDropped' | 'publishErrors' | 'queueDepth' | 'queueCapacity'>;
      topic: string;
      capacity: number;
      /** Key and value bytes per produce request; MAX_BATCH_BYTES by default. */
      maxBatchBytes?: number;
      /** Back-off after a failed attempt, doubled up to maxRetryMs. */
      retryMs?: number;
      maxRetryMs?: number;
    },
  ) {
    options.metrics.queueCapacity.set(options.capacity);
    this.maxBatchBytes = options.maxBatchBytes ?? MAX_BATCH_BYTES;
  }

  /** The next batch off the queue: at most MAX_BATCH_MESSAGES and maxBatchBytes, at least one message. */
  private takeBatch(): { batch: SinkMessage[]; bytes: number } {
    const count = requestEnd(this.queue, 0, recordBytes, { maxBytes: this.maxBatchBytes, maxCount: MAX_BATCH_MESSAGES });
    const batch = this.queue.splice(0, count);
    return { batch, bytes: batch.reduce((sum, message) => sum + recordBytes(message), 0) };
  }

  start(): void {
    this.loop ??= this.run();
  }

  push(message: SinkMessage): void {
    if (this.closing) {
      this.drop(1);
      return;
    }
    this.queue.push(message);
    if (this.queue.length > this.options.capacity) this.drop(this.queue.splice(0, this.queue.length - this.options.capacity).length);
    this.options.metrics.queueDepth.set(this.queue.length);
    this.wake?.();
  }

  stats(): SinkStats {
    return { ...this.stats_, queued: this.queue.length };
  }

  private countDropped(count: number): void {
    this.stats_.dropped += count;
    this.options.metrics.eventsDropped.inc(count);
  }

  private drop(count: number): void {
    this.countDropped(count);
    const now = Date.now();
    if (now - this.lastDropLog > 10_000) {
      this.lastDropLog = now;
      this.options.logger.warn({ dropped: this.stats_.dropped, capacity: this.options.capacity }, 'tap event queue full: dropping the oldest events');
    }
  }

  private async connect(): Promise<Producer> {
    if (this.producer && this.ready) return this.producer;
    const { settings, logger, topic } = this.options;
    await ensureTopics(settings, logger, [{ topic, numPartitions: settings.TOKENWATCH_TOPIC_PARTITIONS }]);
    this.producer ??= createProducer(createKafka(settings, logger));
    await this.producer.connect();
    this.ready = true;
    return this.producer;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const base = this.options.retryMs ?? 500;
    let backoff = base;
    while (!this.closing || this.queue.length > 0) {
      if (this.queue.length === 0) {
        await this.sleep(60_000);
        continue;
      }
      const { batch, bytes } = this.takeBatch();
      this.inflight = batch;
      this.options.metrics.queueDepth.set(this.queue.length);
      try {
        const producer = await this.connect();
        await producer.send({ topic: this.options.topic, acks: -1, messages: batch.map((m) => ({ key: m.key, value: m.value })) });
        this.inflight = [];
        this.stats_.produced += batch.length;
        this.options.metrics.eventsPublished.inc(batch.length);
        if (this.abandoned) this.stats_.dropped -= batch.length; // delivered after all
        backoff = base;
      } catch (error) {
        this.inflight = [];
        this.stats_.sendErrors += 1;
        this.options.metrics.publishErrors.inc();
        if (isMessageTooLarge(error) && !this.abandoned) {
          this.refusedAsTooLarge(batch, bytes);
          continue;
        }
        if (this.abandoned) {
          // stats() counted this batch as dropped when close() gave up on it; a counter cannot
          // take it back if it arrives after all, so the metric counts it only now its fate is known.
          this.options.metrics.eventsDropped.inc(batch.length);
          break;
        }
        this.queue.unshift(...batch);
        if (this.queue.length > this.options.capacity) this.drop(this.queue.splice(0, this.queue.length - this.options.capacity).length);
        this.options.metrics.queueDepth.set(this.queue.length);
        this.options.logger.warn({ err: errorMessage(error), queued: this.queue.length, retryInMs: backoff }, 'tap cannot publish events to Kafka; keeping them queued');
        if (this.closing) break;
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxRetryMs ?? 30_000);
      }
    }
  }

  /**
   * The broker refused a batch for its size. Retrying it as it is would fail forever and hold
   * up every event behind it, so: a batch of several goes back to the front and batches are
   * halved in bytes from now on (this broker's limit is lower than assumed); a single event the
   * broker refuses on its own can never be delivered and is dropped, counted and logged.
   */
  private refusedAsTooLarge(batch: SinkMessage[], bytes: number): void {
    if (batch.length > 1) {
      this.maxBatchBytes = Math.max(1, Math.floor(bytes / 2));
      this.queue.unshift(...batch);
      if (this.queue.length > this.options.capacity) this.drop(this.queue.splice(0, this.queue.length - this.options.capacity).length);
      this.options.metrics.queueDepth.set(this.queue.length);
      this.options.logger.warn({ batchBytes: bytes, maxBatchBytes: this.maxBatchBytes }, 'Kafka refused a batch as too large; sending smaller batches');
      return;
    }
    this.countDropped(batch.length);
    this.options.logger.warn({ eventBytes: bytes }, 'Kafka refused an event as too large (above the topic\'s max.message.bytes); dropped it');
  }

  /** Tries to deliver what is queued for up to `timeoutMs`, then counts the rest as dropped and disconnects. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closing = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const loop = this.loop ?? Promise.resolve();
    await Promise.race([loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    const lost = this.queue.length + this.inflight.length;
    if (lost > 0) {
      this.abandoned = true;
      this.options.logger.warn({ lost }, 'tap stopped with undelivered events');
      this.stats_.dropped += lost;
      // The queued ones are gone; the batch in flight is counted when its send settles (run()).
      this.options.metrics.eventsDropped.inc(this.queue.length);
      this.queue = [];
      this.options.metrics.queueDepth.set(0);
    }
    await this.producer?.disconnect().catch(() => undefined);
  }
}
