import { createKafka, createProducer, ensureTopics } from '@tokenwatch/shared/kafka/client';
import { readLineChunks } from '../lines.js';
import type { CommandContext } from '../run.js';

const CHUNK_LINES = 5_000;

/**
 * `tokenwatch produce <file|->`: publishes JSON lines, unchanged, to the token-request topic
 * (or --topic). For backfills, demos and tests; validation happens in the worker.
 */
export async function produceCommand({ settings, logger }: CommandContext, path: string, topic: string): Promise<number> {
  const kafka = createKafka(settings, logger);
  await ensureTopics(settings, logger, [{ topic, numPartitions: settings.TOKENWATCH_TOPIC_PARTITIONS }]);
  const producer = createProducer(kafka);
  await producer.connect();
  let sent = 0;
  try {
    for await (const lines of readLineChunks(path, CHUNK_LINES)) {
      await producer.send({ topic, acks: -1, messages: lines.map((line) => ({ value: line.text })) });
      sent += lines.length;
    }
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(`produced ${sent} messages to ${topic}\n`);
  return sent;
}
