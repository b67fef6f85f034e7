import { describe, expect, it } from 'vitest';
import { createTopic, produce, testKafka } from '../helpers/kafka.js';
import { runCli } from '../helpers/cli.js';
import { testEnv } from '../helpers/settings.js';

describe('dead-letter limit', () => {
  it('stops the worker with one clear line instead of dead-lettering a whole topic of foreign data', async () => {
    const env = testEnv('dlq-limit', { TOKENWATCH_DLQ_MIN_MESSAGES: '1000', TOKENWATCH_DLQ_MAX_RATIO: '0.5' });
    const topic = env.TOKENWATCH_TOPIC as string;
    await createTopic(topic, 1);
    // A topic carrying something else entirely: access logs, not token requests.
    const foreign = Array.from({ length: 5_000 }, (_, i) => `127.0.0.1 - - [28/Nov/2026:01:02:03 +0000] "GET /healthz HTTP/1.1" 200 ${i}`);
    await produce(topic, foreign);

    const result = await runCli(['ingest'], env, { timeoutMs: 90_000 });

    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n').filter((line) => line.startsWith('tokenwatch: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('TOKENWATCH_DLQ_MAX_RATIO=0.5');
    expect(lines[0]).toContain(`topic ${topic}`);

    // The batch that tripped the limit was not committed, so after fixing the cause nothing is lost.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: env.TOKENWATCH_CONSUMER_GROUP as string, topics: [topic] });
      const offset = Number(committed?.partitions[0]?.offset ?? '-1');
      expect(offset).toBeLessThan(foreign.length);
    } finally {
      await admin.disconnect();
    }
  });
});
