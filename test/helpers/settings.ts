import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, type Settings } from '@tokenwatch/shared/config/settings';

/**
 * Environment for one test: its own topics, consumer group and embedded data directory, so
 * test files never see each other's data. KAFKA_BROKERS comes from the caller's environment
 * (`.ci/run` starts the broker on the default 127.0.0.1:9092).
 */
export function testEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  const suffix = `${name}-${process.pid}-${Date.now().toString(36)}`;
  return {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    TOKENWATCH_TOPIC: `test.${suffix}`,
    TOKENWATCH_DLQ_TOPIC: `test.${suffix}.dlq`,
    TOKENWATCH_CONSUMER_GROUP: `test-${suffix}`,
    TOKENWATCH_DATA_DIR: mkdtempSync(join(tmpdir(), `tokenwatch-${name}-`)),
    LOG_LEVEL: 'warn',
    ...overrides,
  };
}

export function settingsFrom(env: Record<string, string>): Settings {
  return loadSettings(env);
}
