import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../helpers/events.js';
import { runCli, spawnCli, terminate, waitFor } from '../helpers/cli.js';
import { createTopic, produce } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';

// `tokenwatch start` as an operator runs it: a subprocess, stopped by a signal or by a fatal error.

describe('tokenwatch start', () => {
  it('stores events, answers `tokenwatch sql` and `tokenwatch alerts` meanwhile, and exits 0 on SIGTERM', async () => {
    const secret = 'hunter2-never-logged';
    const env = testEnv('start', {
      TOKENWATCH_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      CLICKHOUSE_PASSWORD: secret, // unused by the embedded engine, but a setting like any other
      TOKENWATCH_BATCH_MAX_WAIT_MS: '200',
    });
    await createTopic(env.TOKENWATCH_TOPIC as string);
    const child = spawnCli(['start'], env);
    try {
      await waitFor(async () => (child.logs().includes('tokenwatch service running') ? true : undefined), { timeoutMs: 60_000, what: 'the service to start' });
      const now = Date.now();
      await produce(env.TOKENWATCH_TOPIC as string, Array.from({ length: 200 }, (_, i) => JSON.stringify(canonicalEvent(i, { time: now - 60_000 + i }))));
      const count = await waitFor(
        async () => {
          const result = await runCli(['sql', 'SELECT count() AS n FROM token_requests FINAL'], env);
          const n = result.code === 0 ? Number((JSON.parse(result.stdout) as { n: string }).n) : 0;
          return n === 200 ? n : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: '200 stored requests through tokenwatch sql' },
      );
      expect(count).toBe(200);
      const alerts = await runCli(['alerts', '--json'], env);
      expect(alerts.code, alerts.stderr).toBe(0);
    } finally {
      expect(await terminate(child, 'SIGTERM')).toBe(0);
    }
    const lines = child.logs().trim().split('\n');
    // Structured logs only: every stderr line is a JSON object with a level; no secret in any.
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(child.logs()).not.toContain(secret);
    expect(child.logs()).toContain('stopping: draining ingest');
  });

  it('exits 1 with one line when ingest hits the dead-letter limit, stopping the rest', async () => {
    const env = testEnv('start-fatal', { TOKENWATCH_HTTP_PORT: '0', TOKENWATCH_DLQ_MIN_MESSAGES: '20', TOKENWATCH_DLQ_MAX_RATIO: '0.5', LOG_LEVEL: 'silent' });
    await createTopic(env.TOKENWATCH_TOPIC as string);
    await produce(env.TOKENWATCH_TOPIC as string, Array.from({ length: 50 }, (_, i) => `garbage ${i}`));
    const result = await runCli(['start'], env, { timeoutMs: 90_000 });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tokenwatch: stopped: 50 of the last 50 messages .* were invalid .*TOKENWATCH_DLQ_MAX_RATIO/);
  });
});
