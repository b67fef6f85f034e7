import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { DependencyError, errorMessage } from '@tokenwatch/shared/errors';
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
 * and resolve, or reject; offsets are committed only after it resolves. It rejects with a
 * DependencyError when a dependency is unavailable: it is then called again with the same
 * messages and `batchId`, so it must be safe to repeat (deterministic dedup tokens).
 * `batchId` names the exact offsets (`topic:partition:first-last,...`), part of every
 * insert_deduplication_token.
 */
export type BatchHandler = (messages: readonly ConsumedMessage[], batchId: string) => Promise<void>;

export interface BatchingConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly maxBatchSize: number;
  readonly maxBatchWaitMs: number;
  /**
   * Most bytes of one fetch (KAFKA_FETCH_MAX_MB). kafkajs decodes a whole fetch into message
   * objects at once, each holding a slice of the response buffer: the fetch, not the batch,
   * is what the consumer holds in memory.
   */
  readonly maxFetchBytes: number;
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
 * - Infrastructure faults pause, they do not stop: a handler that rejects with a
 *   DependencyError (ClickHouse or the broker unavailable) is called again for the same batch
 *   after a capped backoff (RETRY_MIN_MS doubling to RETRY_MAX_MS), for as long as it takes.
 *   Meanwhile fetching is paused, `consuming` is false (readiness), the group membership is kept
 *   alive with heartbeats, nothing later is committed, and the rest of the process (detectors,
 *   notifier) goes on. The first success resumes fetching by itself.
 * - Broker faults of the consumer itself are kafkajs's to retry: it restarts the consumer on
 *   every retriable error (`consuming` is false until it has rejoined the group).
 * - Failure: any other handler error (the dead-letter limit, a bug) and a non-retriable broker
 *   error stop the consumer without committing; the batch is redelivered on restart (and
 *   deduplicated by storage).
 * - Shutdown: `stop()` pauses fetching, flushes and commits what was read, then leaves
 *   the group, so SIGTERM loses nothing and redelivers nothing. While paused it does not wait
 *   for the dependency: the batch being retried stays uncommitted and is read again next time.
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
  /** Why the handler is being retried (a dependency is down), undefined while all is well. */
  private pausedBy: string | undefined;
  /** Ends a retry backoff early when `stop()` is called. */
  private wakeUp: (() => void) | undefined;
  /** In its group with partitions assigned (GROUP_JOIN seen, no crash or stop since): readiness. */
  private joined = false;
  private readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: Error) => void };

  constructor(private readonly options: BatchingConsumerOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      // One fetch should fill most of a batch at full speed (the default 4 MiB holds about
      // 9,700 events of 430 bytes, a batch of 10,000) and no more: what is fetched sits in
      // memory until it is stored. A partition may fill a quarter, so four share one fetch.
      maxBytesPerPartition: Math.max(MIN_PARTITION_FETCH_BYTES, Math.floor(options.maxFetchBytes / 4)),
      maxBytes: options.maxFetchBytes,
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
    return this.joined && !this.stopping && !this.failed && this.pausedBy === undefined;
  }

  /** Why the consumer is not consuming, for /readyz; undefined when it is. */
  get notConsumingBecause(): string | undefined {
    if (this.consuming) return undefined;
    if (this.stopping) return 'shutting down';
    if (this.failed) return 'stopped after an error';
    if (this.pausedBy !== undefined) return `paused, retrying: ${this.pausedBy}`;
    return 'the ingest consumer has not joined its group';
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
      // No partial batches while paused: they would only fail the same way.
      if (this.pausedBy !== undefined) return;
      if (this.buffer.length > 0 && Date.now() - this.bufferStartedAt >= options.maxBatchWaitMs) void this.flush();
    }, tick);
    this.timer.unref();
  }

  /** Graceful stop: finish the batch in hand, commit it, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return this.finished.catch(() => undefined);
    this.stopping = true;
    clearInterval(this.timer);
    this.wakeUp?.();
    this.pauseFetching();
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
      await this.waitAlive(previous, heartbeat);
    } else if (this.inFlight >= MAX_IN_FLIGHT) {
      // Partial batches cut by the timer while storage is slow: stop fetching until they land.
      await this.waitAlive(this.lastCommit, heartbeat);
    }
    await heartbeat();
  }

  /**
   * Waits for `work` while heartbeating, so that a long wait (ClickHouse down for minutes, a
   * batch being split) does not cost the group membership and a rebalance.
   */
  private async waitAlive(work: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    let settled = false;
    const done = work.finally(() => {
      settled = true;
    });
    const interval = Math.max(500, Math.floor(this.options.sessionTimeoutMs / 3));
    while (!settled) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, interval)))]);
      clearTimeout(timer);
      if (!settled) await heartbeat();
    }
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
    const id = batchId(ranges);
    let handled = this.options.onBatch(messages, id);
    handled.catch(() => undefined); // observed below, in order
    const previous = this.lastCommit;
    this.inFlight += 1;
    this.lastCommit = (async () => {
      await previous;
      for (let attempt = 0; ; attempt += 1) {
        if (this.failed) return;
        try {
          await handled;
          break;
        } catch (error) {
          if (!(error instanceof DependencyError)) {
            this.fail(error);
            return;
          }
          // Not committed: whoever reads the partition next (this worker after a restart) redoes it.
          if (this.stopping) return;
          this.pause(error, attempt);
          await this.backoff(attempt);
          if (this.stopping || this.failed) return;
          handled = this.options.onBatch(messages, id);
          handled.catch(() => undefined);
        }
      }
      this.resume();
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

  private pause(error: DependencyError, attempt: number): void {
    const first = this.pausedBy === undefined;
    this.pausedBy = error.message;
    if (first) this.pauseFetching();
    this.options.logger.warn(
      { err: error.message, attempt: attempt + 1, retryInMs: retryDelay(attempt) },
      first ? 'ingest paused: a dependency is unavailable; retrying the batch' : 'ingest still paused; retrying the batch',
    );
  }

  private resume(): void {
    if (this.pausedBy === undefined) return;
    this.pausedBy = undefined;
    this.options.logger.info('ingest resumed: the batch went through');
    if (this.stopping || this.failed) return;
    try {
      this.consumer.resume([{ topic: this.options.topic }]);
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'could not resume fetching');
    }
  }

  private pauseFetching(): void {
    try {
      this.consumer.pause([{ topic: this.options.topic }]);
    } catch (error) {
      // Not running yet, or kafkajs is restarting it: the fetch loop is held by backpressure anyway.
      this.options.logger.debug({ err: errorMessage(error) }, 'could not pause fetching');
    }
  }

  private backoff(attempt: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, retryDelay(attempt));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
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

/** A partition's share of a fetch is never below this (a message larger than it still comes: Kafka sends at least one). */
const MIN_PARTITION_FETCH_BYTES = 1024 * 1024;

/** Batches being stored at once: one being inserted while the next is decoded. */
const MAX_IN_FLIGHT = 2;

/** Retry backoff of a batch whose dependency is down: doubling from the first to the cap. */
export const RETRY_MIN_MS = 500;
export const RETRY_MAX_MS = 30_000;

function retryDelay(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 16));
}

interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly first: string;
  readonly last: string;
}

/**
 * Each partition's first and last offset in a batch. It runs over every message, so it builds
 * no key string and parses no offset per message: offsets are compared as the decimal strings
 * kafkajs gives (non-negative, no leading zeros), by length and then by text.
 */
function offsetRanges(messages: readonly ConsumedMessage[]): OffsetRange[] {
  const topics = new Map<string, Map<number, { first: string; last: string }>>();
  for (const { topic, partition, offset } of messages) {
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map()));
    const range = partitions.get(partition);
    if (!range) partitions.set(partition, { first: offset, last: offset });
    else {
      if (offsetBefore(offset, range.first)) range.first = offset;
      if (offsetBefore(range.last, offset)) range.last = offset;
    }
  }
  const ranges: OffsetRange[] = [];
  for (const [topic, partitions] of topics) {
    for (const [partition, { first, last }] of partitions) ranges.push({ topic, partition, first, last });
  }
  return ranges.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Whether Kafka offset `a` comes before `b`, both decimal strings without leading zeros. */
function offsetBefore(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b);
}

function batchId(ranges: readonly OffsetRange[]): string {
  return ranges.map(({ topic, partition, first, last }) => `${topic}:${partition}:${first}-${last}`).join(',');
}
