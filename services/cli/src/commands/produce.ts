import { resolve } from 'node:path';
import type { Message } from 'kafkajs';
import { z } from 'zod';
import { followFile } from '@tokenwatch/ingest/follow/follower';
import { defaultStatePath } from '@tokenwatch/ingest/follow/state-file';
import { ConfigError } from '@tokenwatch/shared/errors';
import { createKafka, createProducer, ensureTopics } from '@tokenwatch/shared/kafka/client';
import { chunkByBytes, MAX_REQUEST_BYTES, RECORD_OVERHEAD_BYTES } from '@tokenwatch/shared/kafka/requests';
import { startOpsServer } from '@tokenwatch/shared/http/ops-server';
import { createFollowMetrics, createRegistry } from '@tokenwatch/shared/metrics';
import { listenFlag, parseFlags } from '../flags.js';
import { readLineChunks } from '../lines.js';
import { untilSignal, type CommandContext } from '../run.js';

const CHUNK_LINES = 5_000;

const produceFlags = z
  .object({
    topic: z.string().min(1).max(249).optional(),
    follow: z.boolean().default(false),
    state: z.string().min(1).max(4_096).optional(),
    fromEnd: z.boolean().default(false),
    /** Milliseconds between two looks at a followed file when fs.watch says nothing. */
    pollInterval: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /** With --follow: /healthz and /metrics, or `off`. */
    opsListen: z.union([z.literal('off'), listenFlag]).default('off'),
  })
  .strict();

/**
 * `tokenwatch produce <file|->`: publishes JSON lines, unchanged, to the token-request topic
 * (or --topic). For backfills, demos and tests; validation happens in the worker. With
 * --follow, keeps publishing what is appended to the file, like `tail -F`, until SIGINT/SIGTERM.
 */
export async function produceCommand(context: CommandContext, path: string, flags: unknown): Promise<void> {
  const options = parseFlags(produceFlags, flags);
  const topic = options.topic ?? context.settings.TOKENWATCH_TOPIC;
  if (options.follow) {
    await followCommand(context, path, topic, options);
    return;
  }
  const followOnly = options.state !== undefined ? '--state' : options.fromEnd ? '--from-end' : options.opsListen !== 'off' ? '--ops-listen' : undefined;
  if (followOnly) throw new ConfigError(`${followOnly} is for --follow only`);
  const sent = await produceLines(context, path, topic);
  process.stdout.write(`produced ${sent} messages to ${topic}\n`);
}

async function produceLines({ settings, logger }: CommandContext, path: string, topic: string): Promise<number> {
  const kafka = createKafka(settings, logger);
  await ensureTopics(settings, logger, [{ topic, numPartitions: settings.TOKENWATCH_TOPIC_PARTITIONS }]);
  const producer = createProducer(kafka);
  await producer.connect();
  let sent = 0;
  try {
    for await (const lines of readLineChunks(path, CHUNK_LINES)) {
      const messages = lines.map((line) => ({ value: line.text }));
      for (const request of chunkByBytes(messages, messageBytes, { maxBytes: MAX_REQUEST_BYTES })) {
        await producer.send({ topic, acks: -1, messages: request });
        sent += request.length;
      }
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}

const messageBytes = (message: Message & { value: string }) => Buffer.byteLength(message.value) + RECORD_OVERHEAD_BYTES;

/** `produce --follow <file>`: the follower (ingest/follow) until the first SIGINT or SIGTERM. */
async function followCommand({ settings, logger }: CommandContext, path: string, topic: string, options: z.output<typeof produceFlags>): Promise<void> {
  if (path === '-') throw new ConfigError('--follow needs a file, not - (stdin)');
  const file = resolve(path);
  const statePath = resolve(options.state ?? defaultStatePath(file));
  const kafka = createKafka(settings, logger);
  await ensureTopics(settings, logger, [
    { topic, numPartitions: settings.TOKENWATCH_TOPIC_PARTITIONS },
    { topic: settings.TOKENWATCH_DLQ_TOPIC, numPartitions: 1 },
  ]);
  const registry = createRegistry();
  const metrics = createFollowMetrics(registry);
  const ops = options.opsListen === 'off' ? undefined : await startOpsServer({ ...options.opsListen, registry, checks: {}, logger, portSetting: '--ops-listen' });
  const producer = createProducer(kafka);
  const stop = new AbortController();
  void untilSignal().then((signal) => {
    logger.info({ signal }, 'stopping: publishing what was read and saving the position');
    stop.abort();
  });
  try {
    await producer.connect();
    const opsNote = ops ? `; /metrics and /healthz on port ${ops.port}` : '';
    process.stdout.write(`following ${file} into ${topic} (position in ${statePath})${opsNote}\n`);
    const stats = await followFile({
      file,
      statePath,
      fromEnd: options.fromEnd,
      topic,
      deadLetterTopic: settings.TOKENWATCH_DLQ_TOPIC,
      producer,
      logger,
      metrics,
      signal: stop.signal,
      pollIntervalMs: options.pollInterval,
    });
    process.stdout.write(`produced ${stats.published} messages to ${topic}, dead-lettered ${stats.deadLettered}; position ${stats.position} saved\n`);
  } finally {
    await producer.disconnect();
    await ops?.close();
  }
}
