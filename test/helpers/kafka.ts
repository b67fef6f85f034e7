import { Kafka, logLevel, Partitioners, type IHeaders } from 'kafkajs';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function testKafka(): Kafka {
  return new Kafka({ clientId: 'tokenwatch-test', brokers, logLevel: logLevel.NOTHING });
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

/** Publishes values in chunks; `pauseMs` between chunks makes a stream instead of a burst. */
export async function produce(topic: string, values: readonly string[], { chunk = 5_000, pauseMs = 0 } = {}): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
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

/**
 * Reads a topic from the beginning until `expected` messages arrived, then waits `settleMs`
 * more so that an extra (unexpected) message would be seen too.
 */
export async function readTopic(topic: string, expected: number, { timeoutMs = 60_000, settleMs = 1_500 } = {}): Promise<ReadMessage[]> {
  const consumer = testKafka().consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push({ value: message.value?.toString('utf8') ?? '', headers: headersToStrings(message.headers) });
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (messages.length < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  await consumer.disconnect();
  return messages;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key] = String(Array.isArray(value) ? value[0] : value);
  return out;
}
