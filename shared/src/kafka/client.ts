import { readFileSync } from 'node:fs';
import { Kafka, logLevel, Partitioners, type KafkaConfig, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { Settings } from '../config/settings.js';
import { ConfigError, DependencyError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export type KafkaSettings = Pick<
  Settings,
  | 'KAFKA_BROKERS'
  | 'KAFKA_CLIENT_ID'
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
  | 'KAFKA_RETRY_MAX_MS'
>;

// kafkajs prints its own JSON to stdout; route it through our logger instead, one level down
// for errors because kafkajs reports every retried connection attempt as an error.
function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry): void => {
      // The stack of a connection error is noise in a log line; the message says it all.
      const { message, timestamp: _timestamp, logger: _logger, stack: _stack, ...fields } = log;
      const child = { lib: 'kafkajs', ...fields };
      if (level === logLevel.ERROR) logger.warn(child, message);
      else if (level === logLevel.WARN) logger.warn(child, message);
      else logger.debug(child, message);
    };
}

/**
 * A kafkajs client from the settings. `quick` is for the start-up check: few retries and no
 * retry chatter, so a wrong KAFKA_BROKERS fails in seconds with one line.
 */
export function createKafka(settings: KafkaSettings, logger: Logger, { quick = false } = {}): Kafka {
  const config: KafkaConfig = {
    clientId: settings.KAFKA_CLIENT_ID,
    brokers: settings.KAFKA_BROKERS,
    connectionTimeout: 5_000,
    logLevel: quick ? logLevel.NOTHING : logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: quick ? { retries: 2, initialRetryTime: 300, maxRetryTime: 1_000 } : { retries: 8, initialRetryTime: 200, maxRetryTime: settings.KAFKA_RETRY_MAX_MS },
  };
  if (settings.KAFKA_SSL) {
    config.ssl = settings.KAFKA_SSL_CA_FILE ? { ca: [readCaFile(settings.KAFKA_SSL_CA_FILE)] } : true;
  }
  if (settings.KAFKA_SASL_MECHANISM && settings.KAFKA_SASL_USERNAME && settings.KAFKA_SASL_PASSWORD) {
    config.sasl = {
      mechanism: settings.KAFKA_SASL_MECHANISM,
      username: settings.KAFKA_SASL_USERNAME,
      password: settings.KAFKA_SASL_PASSWORD,
    } as SASLOptions;
  }
  return new Kafka(config);
}

function readCaFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`invalid setting KAFKA_SSL_CA_FILE: cannot read ${path}: ${errorMessage(error)}`);
  }
}

/**
 * Connects once with a short timeout and makes sure the topics exist, so a wrong
 * KAFKA_BROKERS fails start-up in seconds with one line instead of minutes of retries.
 */
export async function ensureTopics(
  settings: KafkaSettings,
  logger: Logger,
  topics: readonly { topic: string; numPartitions: number }[],
): Promise<void> {
  const admin = createKafka(settings, logger, { quick: true }).admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new DependencyError(`cannot reach Kafka at KAFKA_BROKERS=${settings.KAFKA_BROKERS.join(',')}: ${errorMessage(error)}`);
  }
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter(({ topic }) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((t) => ({ ...t })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * A producer that waits for every in-sync replica (acks are set per send). The Java-compatible
 * partitioner is named explicitly so kafkajs does not warn about its v2 default change.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}
