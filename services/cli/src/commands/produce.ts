import type { Message } from 'kafkajs';
import { createKafka, createProducer, ensureTopics } from '@tokenwatch/shared/kafka/client';
import { chunkByBytes, MAX_REQUEST_BYTES, RECORD_OVERHEAD_BYTES } from '@tokenwatch/shared/kafka/requests';
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
  const send = async (messages: Message[]) => {
    if (messages.length === 0) return;
    await producer.send({ topic, acks: -1, messages });
    sent += messages.length;
  };
  try {
    for await (const lines of readLineChunks(path, CHUNK_LINES)) {
      const messages = lines.map((line) => ({ value: line.text }));
      for (const request of chunkByBytes(messages, messageBytes, { maxBytes: MAX_REQUEST_BYTES })) await send(request);
    }
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(`produced ${sent} messages to ${topic}\n`);
  return sent;
}

const messageBytes = (message: Message & { value: string }) => Buffer.byteLength(message.value) + RECORD_OVERHEAD_BYTES;
