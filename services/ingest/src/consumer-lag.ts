import type { Admin, Kafka } from 'kafkajs';
import type { Gauge } from 'prom-client';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';

export interface LagMonitor {
  /** Total lag at the last successful poll, or undefined before the first one. */
  total(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Polls the broker for the consumer group's lag: per partition, the log-end offset minus the
 * group's committed offset (or minus the log start when the group has committed nothing yet).
 *
 * Why the broker and not the high watermarks in fetched batches: a batch only reports a
 * watermark when the consumer fetches, so a worker stuck on a slow insert, paused by
 * backpressure or out of its group would keep showing the last (small) value just when the lag
 * grows. The committed offset is also what survives a restart, so this is the backlog a
 * restart would face. Cost: two small admin requests per interval.
 */
export function startLagMonitor(options: {
  kafka: Kafka;
  groupId: string;
  topic: string;
  gauge: Gauge<'partition'>;
  logger: Logger;
  intervalMs?: number;
}): LagMonitor {
  const { kafka, groupId, topic, gauge, logger } = options;
  let admin: Admin | undefined;
  let connected: Promise<void> | undefined;
  let last: number | undefined;
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();
  let warned = false;

  async function poll(): Promise<void> {
    try {
      admin ??= kafka.admin();
      connected ??= admin.connect();
      await connected;
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const committedBy = new Map((committed[0]?.partitions ?? []).map(({ partition, offset }) => [partition, BigInt(offset)]));
      let sum = 0;
      for (const { partition, high, low } of ends) {
        const done = committedBy.get(partition) ?? -1n;
        const lag = Number(BigInt(high) - (done >= 0n ? done : BigInt(low)));
        const value = Math.max(0, lag);
        gauge.set({ partition: String(partition) }, value);
        sum += value;
      }
      last = sum;
      warned = false;
    } catch (error) {
      // Kafka being away is the ingest worker's concern (and its readiness); say it once here.
      if (!warned) logger.warn({ err: errorMessage(error) }, 'cannot read the consumer lag from Kafka; retrying');
      warned = true;
      connected = undefined;
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    }
  }

  const tick = () => {
    if (!stopped) polling = poll();
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? 5_000);
  timer.unref();

  return {
    total: () => last,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await polling;
      await admin?.disconnect().catch(() => undefined);
    },
  };
}
