import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { readTopic } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';

// infra/kafka/server.properties opens a SASL/PLAIN listener on 9094 with this local test user.
const SASL_BROKER = '127.0.0.1:9094';
const USER = 'tokenwatch';
const PASSWORD = 'local-test-password';

describe('Kafka SASL settings against a real SASL/PLAIN listener', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-sasl-')), 'events.jsonl');
  writeFileSync(file, [0, 1, 2].map((i) => JSON.stringify(canonicalEvent(i))).join('\n'));

  it('authenticates with KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD', async () => {
    const env = testEnv('sasl', { KAFKA_BROKERS: SASL_BROKER, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD: PASSWORD });
    const result = await runCli(['produce', file], env);
    expect(result.stderr).not.toContain(PASSWORD);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('produced 3 messages');
    // Read back over the plaintext listener: the messages really arrived.
    expect(await readTopic(env.TOKENWATCH_TOPIC as string, 3)).toHaveLength(3);
  });

  it('fails start-up with one line, without echoing the password, when the credentials are wrong', async () => {
    const wrong = 'not-the-password-7731';
    const env = testEnv('sasl-wrong', { KAFKA_BROKERS: SASL_BROKER, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: USER, KAFKA_SASL_PASSWORD: wrong });
    const result = await runCli(['produce', file], env, { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tokenwatch: cannot reach Kafka at KAFKA_BROKERS=127\.0\.0\.1:9094: .*(SASL|[Aa]uthentication)/);
    expect(result.stderr).not.toContain(wrong);
  });
});
