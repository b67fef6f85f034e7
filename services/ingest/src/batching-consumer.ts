import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/**
 * Processes one batch. It must either finish everything the batch needs (store, dead-letter)
 * and resolve, or reject; offsets are committed only after it resolves.
 * `batchId` names the exact offsets (`topic:partition:first-last,...`), fit for an
 * insert_deduplication_token.
 */
export type BatchHandler = (messages: readonly ConsumedMessage[], batchId: string) => Promise<void>;

export interface BatchingConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly maxBatchSize: number;
  readonly maxBatchWaitMs: number;
  readonly sessionTimeoutMs: number;
  readonly logger: Logger;
  readonly onBatch: BatchHandler;
}

/**
 * A Kafka consumer that hands messages over in batches bounded by count or age (whichever
 * comes first) and commits offset+1 as the very last step, after the handler succeeded.
 *
 * - Pipelining and backpressure: a full batch is handed over at once while the previous one
 *   finishes; the fetch loop then waits for that previous one, so at most two batches (plus
 *   one fetch) are in memory and decoding overlaps the insert.
 * - Failure: a handler error stops the consumer without committing; the batch is
 *   redelivered on restart (and deduplicated by storage).
 * - Shutdown: `stop()` pauses fetching, flushes and commits what was read, then leaves
 *   the group, so SIGTERM loses nothing and redelivers nothing.
 */
export class BatchingConsumer {
  private readonly consumer: Consumer;
  private buffer: ConsumedMessage[] = [];
  private bufferStartedAt = 0;
  private lastCommit: Promise<void> = Promise.resolve();
  /** Batches handed over and not yet committed (or failed). */
  private inFlight = 0;
  private inFlightFetch: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private failed = false;
  /** In its group with partitions assigned (GROUP_JOIN seen, no crash or stop since): readiness. */
  private joined = false;
  private readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: Error) => void };

  constructor(private readonly options: BatchingConsumerOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      // Fetch big chunks: one fetch should fill most of a batch at full speed.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: Math.min(options.maxBatchWaitMs, 500),
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
    });
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Avoid an unhandled rejection when nobody awaits `done` before a failure.
    this.finished.catch(() => undefined);
  }

  /** Whether the consumer is a member of its group and fetching: what /readyz reports. */
  get consuming(): boolean {
    return this.joined && !this.stopping && !this.failed;
  }

  /** Resolves when the consumer stopped cleanly; rejects with the error that stopped it. */
  get done(): Promise<void> {
    return this.finished;
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.joined = false;
      if (!payload.restart) this.fail(payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
    });
    consumer.on(consumer.events.STOP, () => {
      this.joined = false;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        const work = this.receive(payload);
        this.inFlightFetch = work.catch(() => undefined);
        return work;
      },
    });
    const tick = Math.max(20, Math.floor(options.maxBatchWaitMs / 4));
    this.timer = setInterval(() => {
      if (this.buffer.length > 0 && Date.now() - this.bufferStartedAt >= options.maxBatchWaitMs) void this.flush();
    }, tick);
    this.timer.unref();
  }

  /** Graceful stop: finish the batch in hand, commit it, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return this.finished.catch(() => undefined);
    this.stopping = true;
    clearInterval(this.timer);
    this.consumer.pause([{ topic: this.options.topic }]);
    await this.inFlightFetch;
    await this.flush();
    await this.consumer.disconnect();
    if (!this.failed) this.settle.resolve();
  }

  private async receive({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // While stopping or after a failure nothing new is accepted: it is not committed either,
    // so the next owner of the partition reads it again.
    if (this.stopping || this.failed || !isRunning() || isStale()) return;
    if (this.buffer.length === 0) this.bufferStartedAt = Date.now();
    for (const message of batch.messages) {
      this.buffer.push({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
      });
    }
    if (this.buffer.length >= this.options.maxBatchSize) {
      // Backpressure with a pipeline of two: start this batch, then wait for the one before
      // it. Fetching pauses while we wait, so memory stays bounded at about two batches.
      const previous = this.lastCommit;
      void this.flush();
      await previous;
    } else if (this.inFlight >= MAX_IN_FLIGHT) {
      // Partial batches cut by the timer while storage is slow: stop fetching until they land.
      await this.lastCommit;
    }
    await heartbeat();
  }

  /**
   * Cuts the buffer into a batch and starts its handler at once, so decoding it overlaps the
   * previous batch's insert. Commits stay in batch order: a batch is committed only after
   * every earlier batch was, and never after a failure. Resolves when this batch is committed.
   */
  private flush(): Promise<void> {
    if (this.buffer.length === 0 || this.failed) return this.lastCommit;
    const messages = this.buffer;
    this.buffer = [];
    const ranges = offsetRanges(messages);
    const handled = this.options.onBatch(messages, batchId(ranges));
    handled.catch(() => undefined); // observed below, in order
    const previous = this.lastCommit;
    this.inFlight += 1;
    this.lastCommit = (async () => {
      await previous;
      if (this.failed) return;
      try {
        await handled;
      } catch (error) {
        this.fail(error);
        return;
      }
      try {
        await this.consumer.commitOffsets(
          ranges.map(({ topic, partition, last }) => ({ topic, partition, offset: (BigInt(last) + 1n).toString() })),
        );
      } catch (error) {
        // Typically a rebalance took the partition away. The batch is stored; whoever owns the
        // partition now reads it again and storage deduplicates it, so this is not fatal.
        this.options.logger.warn({ err: errorMessage(error) }, 'offset commit failed; the batch will be redelivered');
      }
    })().finally(() => {
      this.inFlight -= 1;
    });
    return this.lastCommit;
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    clearInterval(this.timer);
    const reason = error instanceof Error ? error : new Error(String(error));
    // Disconnect outside the fetch loop: kafkajs waits for a running eachBatch to return.
    setImmediate(() => {
      this.consumer
        .disconnect()
        .catch((disconnectError: unknown) => this.options.logger.warn({ err: errorMessage(disconnectError) }, 'disconnect after failure failed'))
        .finally(() => this.settle.reject(reason));
    });
  }
}

/** Batches being stored at once: one being inserted while the next is decoded. */
const MAX_IN_FLIGHT = 2;

interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly first: string;
  readonly last: string;
}

function offsetRanges(messages: readonly ConsumedMessage[]): OffsetRange[] {
  const ranges = new Map<string, { topic: string; partition: number; first: bigint; last: bigint }>();
  for (const { topic, partition, offset } of messages) {
    const key = `${topic}:${partition}`;
    const value = BigInt(offset);
    const range = ranges.get(key);
    if (!range) ranges.set(key, { topic, partition, first: value, last: value });
    else {
      if (value < range.first) range.first = value;
      if (value > range.last) range.last = value;
    }
  }
  return [...ranges.values()]
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    .map((range) => ({ ...range, first: range.first.toString(), last: range.last.toString() }));
}

function batchId(ranges: readonly OffsetRange[]): string {
  return ranges.map(({ topic, partition, first, last }) => `${topic}:${partition}:${first}-${last}`).join(',');
}
