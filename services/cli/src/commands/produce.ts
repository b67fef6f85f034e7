import type { Message } from 'kafkajs';
import { createKafka, createProducer, ensureTopics } from '@tokenwatch/shared/kafka/client';
import { readLineChunks } from '../lines.js';
import type { CommandContext } from '../run.js';

const CHUNK_LINES = 5_000;
/**
 * Bytes per send: the broker refuses a partition's batch over `message.max.bytes` (1 MB by
 * default) with MESSAGE_TOO_LARGE, so sends are cut by size as well as by count.
 */
const SEND_MAX_BYTES = 512 * 1024;

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
  const send = async (messages: Message[]) => {
    if (messages.length === 0) return;
    await producer.send({ topic, acks: -1, messages });
    sent += messages.length;
  };
  try {
    for await (const lines of readLineChunks(path, CHUNK_LINES)) {
      let batch: Message[] = [];
      let bytes = 0;
      for (const line of lines) {
        const size = Buffer.byteLength(line.text);
        if (bytes + size > SEND_MAX_BYTES && batch.length > 0) {
          await send(batch);
          batch = [];
          bytes = 0;
        }
        batch.push({ value: line.text });
        bytes += size;
      }
      await send(batch);
    }
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(`produced ${sent} messages to ${topic}\n`);
  return sent;
}
