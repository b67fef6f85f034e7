import { describe, expect, it } from 'vitest';
import { loadSettings } from '@tokenwatch/shared/config/settings';
import { sqlMaxMemoryBytes } from '@tokenwatch/shared/storage/engine-memory';
import { ConfigError } from '@tokenwatch/shared/errors';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadSettings(${JSON.stringify(env)}) to throw`);
}

describe('loadSettings', () => {
  it('has working defaults for an empty environment', () => {
    expect(loadSettings({})).toEqual({
      TOKENWATCH_DATA_DIR: '.tokenwatch',
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_PASSWORD: '',
      CLICKHOUSE_DATABASE: 'default',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_CLIENT_ID: 'tokenwatch',
      KAFKA_SSL: false,
      KAFKA_SESSION_TIMEOUT_MS: 30_000,
      KAFKA_RETRY_MAX_MS: 10_000,
      KAFKA_FETCH_MAX_MB: 4,
      TOKENWATCH_TOPIC: 'idp.token-requests',
      TOKENWATCH_DLQ_TOPIC: 'idp.token-requests.dlq',
      TOKENWATCH_FORMAT: 'auto',
      TOKENWATCH_HTTP_HOST: '127.0.0.1',
      TOKENWATCH_HTTP_PORT: 9464,
      TOKENWATCH_CONSOLE: true,
      TOKENWATCH_CONSOLE_OIDC_GROUP_CLAIM: 'groups',
      TOKENWATCH_INVENTORY_REQUIRE: false,
      TOKENWATCH_CONSUMER_GROUP: 'tokenwatch-ingest',
      TOKENWATCH_TOPIC_PARTITIONS: 4,
      TOKENWATCH_LEADER_ELECTION: false,
      TOKENWATCH_LEADER_SESSION_TIMEOUT_MS: 10_000,
      TOKENWATCH_BATCH_MAX_EVENTS: 10_000,
      TOKENWATCH_BATCH_MAX_WAIT_MS: 1_000,
      TOKENWATCH_DLQ_MAX_RATIO: 0.5,
      TOKENWATCH_DLQ_MIN_MESSAGES: 1_000,
      TOKENWATCH_RETENTION_DAYS: 90,
      TOKENWATCH_QUERY_PORT: 0,
      TOKENWATCH_SQL_MAX_ROWS: 1_000_000,
      TOKENWATCH_SQL_MAX_BYTES: 128 * 1024 * 1024,
      TOKENWATCH_SQL_TIMEOUT_SECONDS: 120,
      TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: 320,
      TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: 32,
      TOKENWATCH_CLICKHOUSE_MERGE_THREADS: 2,
      LOG_LEVEL: 'info',
    });
  });

  it('leaves the embedded engine selected when CLICKHOUSE_URL is unset or empty', () => {
    expect(loadSettings({}).CLICKHOUSE_URL).toBeUndefined();
    expect(loadSettings({ CLICKHOUSE_URL: '' }).CLICKHOUSE_URL).toBeUndefined();
    expect(loadSettings({ CLICKHOUSE_URL: 'https://ch.example:8443' }).CLICKHOUSE_URL).toBe('https://ch.example:8443');
  });

  it('parses values from their string form', () => {
    const settings = loadSettings({
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9093,',
      KAFKA_SSL: 'yes',
      TOKENWATCH_BATCH_MAX_EVENTS: '500',
      TOKENWATCH_DLQ_MAX_RATIO: '0.25',
      TOKENWATCH_RETENTION_DAYS: '30',
      LOG_LEVEL: 'debug',
    });
    expect(settings.KAFKA_BROKERS).toEqual(['kafka-1:9092', 'kafka-2:9093']);
    expect(settings.KAFKA_SSL).toBe(true);
    expect(settings.TOKENWATCH_BATCH_MAX_EVENTS).toBe(500);
    expect(settings.TOKENWATCH_DLQ_MAX_RATIO).toBe(0.25);
    expect(settings.TOKENWATCH_RETENTION_DAYS).toBe(30);
    expect(settings.LOG_LEVEL).toBe('debug');
    expect(loadSettings({ KAFKA_SSL: 'false' }).KAFKA_SSL).toBe(false);
    expect(loadSettings({ KAFKA_SSL: '0' }).KAFKA_SSL).toBe(false);
    // One spelling for every on/off setting: on/off reads as true/false everywhere.
    expect(loadSettings({ TOKENWATCH_LEADER_ELECTION: 'on' }).TOKENWATCH_LEADER_ELECTION).toBe(true);
    expect(loadSettings({ TOKENWATCH_LEADER_ELECTION: 'true' }).TOKENWATCH_LEADER_ELECTION).toBe(true);
    expect(loadSettings({ TOKENWATCH_CONSOLE: 'off' }).TOKENWATCH_CONSOLE).toBe(false);
  });

  it.each([
    ['KAFKA_BROKERS', 'nohostport'],
    ['KAFKA_BROKERS', 'kafka-1:9092,kafka-2'],
    ['KAFKA_BROKERS', ' , '],
    ['TOKENWATCH_BATCH_MAX_EVENTS', 'abc'],
    ['TOKENWATCH_BATCH_MAX_EVENTS', '0'],
    ['TOKENWATCH_BATCH_MAX_EVENTS', '1.5'],
    ['CLICKHOUSE_URL', 'ftp://x'],
    ['CLICKHOUSE_URL', 'not a url'],
    ['TOKENWATCH_DLQ_MAX_RATIO', '2'],
    ['TOKENWATCH_DLQ_MAX_RATIO', '0'],
    ['KAFKA_SSL', 'maybe'],
    ['LOG_LEVEL', 'verbose'],
    ['CLICKHOUSE_DATABASE', 'drop table;'],
    ['KAFKA_SESSION_TIMEOUT_MS', '100'],
    ['KAFKA_RETRY_MAX_MS', '0'],
    ['TOKENWATCH_QUERY_PORT', '70000'],
    ['TOKENWATCH_SQL_MAX_ROWS', '0'],
    ['TOKENWATCH_SQL_MAX_MEMORY', 'lots'],
    // A TTL past 2106 wraps DateTime and would delete every row at the next merge.
    ['TOKENWATCH_RETENTION_DAYS', '36500'],
    ['KAFKA_SASL_MECHANISM', 'gssapi'],
    // Below 128 MiB the embedded engine cannot even run the migrations.
    ['TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB', '64'],
    ['TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB', '1g'],
    ['TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB', '0'],
    ['TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB', '-5'],
    ['TOKENWATCH_CLICKHOUSE_MERGE_THREADS', '0'],
    ['TOKENWATCH_CLICKHOUSE_MERGE_THREADS', '65'],
    ['TOKENWATCH_CLICKHOUSE_MERGE_THREADS', '1.5'],
    ['KAFKA_FETCH_MAX_MB', '0'],
    ['KAFKA_FETCH_MAX_MB', '1024'],
  ])('rejects %s=%j with a one-line ConfigError naming the variable and the value', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toMatch(new RegExp(`^invalid setting ${name}: `));
    expect(error.message).toContain(`(got ${JSON.stringify(value)})`);
    expect(error.message).not.toContain('\n');
  });

  it('names the bad variable even when other variables are fine', () => {
    const error = configError({ KAFKA_BROKERS: '127.0.0.1:9092', TOKENWATCH_BATCH_MAX_EVENTS: 'abc', LOG_LEVEL: 'warn' });
    expect(error.message).toMatch(/^invalid setting TOKENWATCH_BATCH_MAX_EVENTS: /);
  });

  it('says what is expected', () => {
    expect(configError({ KAFKA_BROKERS: 'nohostport' }).message).toContain('expected host:port');
    expect(configError({ CLICKHOUSE_URL: 'ftp://x' }).message).toContain('expected an http(s):// URL');
    expect(configError({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '64' }).message).toBe('invalid setting TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: at least 128 (MiB) (got "64")');
  });

  it('caps an investigation at half the embedded engine\'s limit unless TOKENWATCH_SQL_MAX_MEMORY says otherwise', () => {
    const MIB = 1024 * 1024;
    expect(loadSettings({}).TOKENWATCH_SQL_MAX_MEMORY).toBeUndefined();
    expect(sqlMaxMemoryBytes(loadSettings({}))).toBe(160 * MIB);
    expect(sqlMaxMemoryBytes(loadSettings({ TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '1024' }))).toBe(512 * MIB);
    expect(sqlMaxMemoryBytes(loadSettings({ TOKENWATCH_SQL_MAX_MEMORY: String(100 * MIB) }))).toBe(100 * MIB);
    // Up to the whole engine is the operator's choice.
    expect(sqlMaxMemoryBytes(loadSettings({ TOKENWATCH_SQL_MAX_MEMORY: String(320 * MIB) }))).toBe(320 * MIB);
  });

  it('refuses a TOKENWATCH_SQL_MAX_MEMORY above the embedded engine\'s limit in one line naming both settings', () => {
    expect(configError({ TOKENWATCH_SQL_MAX_MEMORY: String(512 * 1024 * 1024) }).message).toBe(
      'invalid setting TOKENWATCH_SQL_MAX_MEMORY: at most the embedded engine\'s limit, TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB=320 (335544320 bytes); raise that one too, or leave TOKENWATCH_SQL_MAX_MEMORY unset for half of it (got "536870912")',
    );
    expect(configError({ TOKENWATCH_SQL_MAX_MEMORY: String(200 * 1024 * 1024 + 1), TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '200' }).message).toMatch(
      /^invalid setting TOKENWATCH_SQL_MAX_MEMORY: at most .*TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB=200 .*\(got "209715201"\)$/,
    );
    expect(loadSettings({ TOKENWATCH_SQL_MAX_MEMORY: String(512 * 1024 * 1024), TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: '512' }).TOKENWATCH_SQL_MAX_MEMORY).toBe(512 * 1024 * 1024);
    // A ClickHouse server is sized by its own configuration: the embedded engine's limit means nothing there.
    expect(loadSettings({ TOKENWATCH_SQL_MAX_MEMORY: String(4 * 1024 ** 3), CLICKHOUSE_URL: 'http://ch:8123' }).TOKENWATCH_SQL_MAX_MEMORY).toBe(4 * 1024 ** 3);
  });

  it('never echoes CLICKHOUSE_PASSWORD or KAFKA_SASL_PASSWORD', () => {
    const secrets = { CLICKHOUSE_PASSWORD: 'ch-pass-9f8e7d', KAFKA_SASL_PASSWORD: 'sasl-pass-1a2b3c' };
    const bads: Record<string, string>[] = [{ KAFKA_BROKERS: 'nohostport' }, { TOKENWATCH_DLQ_MAX_RATIO: '2' }, { KAFKA_SASL_MECHANISM: 'plain' }, { KAFKA_SASL_MECHANISM: 'bogus' }];
    for (const bad of bads) {
      const message = configError({ ...secrets, ...bad }).message;
      expect(message).not.toContain('ch-pass-9f8e7d');
      expect(message).not.toContain('sasl-pass-1a2b3c');
    }
  });

  it('does not echo a password embedded in an invalid CLICKHOUSE_URL', () => {
    const error = configError({ CLICKHOUSE_URL: 'ftp://default:ch-pass-9f8e7d@clickhouse:8123' });
    expect(error.message).toMatch(/^invalid setting CLICKHOUSE_URL: /);
    expect(error.message).not.toContain('ch-pass-9f8e7d');
  });

  it('still passes a valid password through to the settings', () => {
    expect(loadSettings({ CLICKHOUSE_PASSWORD: 'ch-pass-9f8e7d' }).CLICKHOUSE_PASSWORD).toBe('ch-pass-9f8e7d');
  });

  it.each([
    [{ KAFKA_SASL_MECHANISM: 'plain' }],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc' }],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'pw-only' }],
  ])('rejects a SASL mechanism without both credentials (%j)', (env) => {
    const error = configError(env);
    expect(error.message).toMatch(/^invalid setting KAFKA_SASL_MECHANISM: /);
    expect(error.message).toContain('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required');
    expect(error.message).not.toContain('pw-only');
  });

  it('accepts a SASL mechanism with credentials, and an empty mechanism as none', () => {
    const settings = loadSettings({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' });
    expect(settings.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    expect(loadSettings({ KAFKA_SASL_MECHANISM: '' }).KAFKA_SASL_MECHANISM).toBeUndefined();
  });
});
