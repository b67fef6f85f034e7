import { Kafka, logLevel, Partitioners, type IHeaders } from 'kafkajs';
import { waitFor } from './wait.js';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A client of the shared broker, or of `on` (a private broker's address, for fault tests). */
export function testKafka(on: readonly string[] = brokers): Kafka {
  return new Kafka({ clientId: 'tokenwatch-test', brokers: [...on], logLevel: logLevel.NOTHING });
}

export async function createTopic(topic: string, numPartitions = 4): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Publishes values in chunks; `pauseMs` between chunks makes a stream instead of a burst.
 * Idempotent, so a send retried on a slow broker does not write a message twice and tests
 * can count exactly.
 */
export async function produce(topic: string, values: readonly string[], { chunk = 5_000, pauseMs = 0 } = {}): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < values.length; start += chunk) {
      await producer.send({ topic, acks: -1, messages: values.slice(start, start + chunk).map((value) => ({ value })) });
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Messages in a topic now: the sum over partitions of log end minus log start. */
export async function topicSize(topic: string, on: readonly string[] = brokers): Promise<number> {
  const admin = testKafka(on).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + (Number(partition.high) - Number(partition.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Messages of `topic` that `groupId` has not committed yet (log end minus committed offset). */
export async function consumerLag(groupId: string, topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.reduce((sum, end) => {
      const done = Number(committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1');
      return sum + Number(end.high) - (done < 0 ? Number(end.low) : done);
    }, 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until `groupId` has committed every message of `topic`. The ingest worker commits a
 * batch only after storing and dead-lettering it, so afterwards its writes are all visible.
 */
export async function waitForConsumed(groupId: string, topic: string, { timeoutMs = 90_000 } = {}): Promise<void> {
  await waitFor(() => consumerLag(groupId, topic), (lag) => lag === 0, { timeoutMs, intervalMs: 250, what: `consumer group ${groupId} to commit all of ${topic} (observed: messages not committed)` });
}

/**
 * Reads a topic from the beginning to its log end. It first waits until the topic holds at
 * least `expected` messages, then reads exactly what the log holds at that moment: every
 * message already written, an unexpected extra one included, with no settling pause. When
 * the writer may still be writing, wait for it first (`waitForConsumed` for the worker's
 * dead letters).
 */
export async function readTopic(topic: string, expected: number, { timeoutMs = 60_000, on = brokers }: { timeoutMs?: number; on?: readonly string[] } = {}): Promise<ReadMessage[]> {
  await waitFor(() => topicSize(topic, on), (size) => size >= expected, { timeoutMs, what: `${expected} messages in ${topic} (observed: messages in the log)` });
  const admin = testKafka(on).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  /** Each non-empty partition's log end at this moment: the reader stops there. */
  const remaining = new Map(ends.filter((end) => Number(end.high) > Number(end.low)).map((end) => [end.partition, Number(end.high)]));
  /** Per partition, the offset after the last message read. */
  const next = new Map<number, number>();
  // A short fetch wait: disconnect() waits for the fetch in flight, which at kafkajs's default
  // (5 s, a long poll on a topic with nothing more to read) made every read take over 5 s.
  const consumer = testKafka(on).consumer({ groupId: `reader-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset >= (remaining.get(partition) ?? 0)) return; // written after the snapshot
        messages.push({ value: message.value?.toString('utf8') ?? '', headers: headersToStrings(message.headers) });
        next.set(partition, offset + 1);
      },
    });
    const unread = () => [...remaining].filter(([partition, end]) => (next.get(partition) ?? 0) < end).map(([partition, end]) => `partition ${partition} at ${next.get(partition) ?? 0} of ${end}`);
    await waitFor(unread, (left) => left.length === 0, { timeoutMs, intervalMs: 50, what: `the reader to reach the log end of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key] = String(Array.isArray(value) ? value[0] : value);
  return out;
}
