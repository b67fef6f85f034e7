import { describe, expect, it } from 'vitest';
import { canonicalEvent } from '../helpers/events.js';
import { runCli, spawnCli, terminate } from '../helpers/cli.js';
import { createTopic, produce, waitForConsumed } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

/** pino's numeric levels: trace, debug, info, warn, error, fatal. */
const LOG_LEVELS = [10, 20, 30, 40, 50, 60];

/** `tokenwatch sql` output (JSONEachRow) as rows; throws with its stderr when it fails. */
async function sqlRows(query: string, env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const result = await runCli(['sql', query], env);
  if (result.code !== 0) throw new Error(`tokenwatch sql exited ${result.code}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

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
      await waitFor(() => child.logs(), (logs) => logs.includes('tokenwatch service running'), { timeoutMs: 60_000, what: 'the service to start (observed: its stderr)' });
      const now = Date.now();
      // 200 requests, then the (still valid) assertion of evt-1 replayed from another address.
      const seconds = Math.floor(now / 1000);
      const stolen = { jti: 'jti-1', iat: seconds - 60, exp: seconds + 300, kid: 'key-1', alg: 'RS256' };
      const requests = Array.from({ length: 200 }, (_, i) => canonicalEvent(i, { time: now - 60_000 + i, ...(i === 1 ? { assertion: stolen } : {}) }));
      const replay = { ...requests[1]!, event_id: 'evt-replayed', time: now - 30_000, source_ip: '203.0.113.99' };
      await produce(env.TOKENWATCH_TOPIC as string, [...requests, replay].map((event) => JSON.stringify(event)));

      // Once the worker committed the whole topic everything is stored: exactly the 201 requests.
      await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
      expect(await sqlRows('SELECT count() AS n, uniqExact(event_id) AS ids FROM token_requests FINAL', env)).toEqual([{ n: 201, ids: 201 }]);

      // `tokenwatch alerts --json` from another process: the replay's alert, as one JSON object a line.
      const alerts = await waitFor(
        async () => {
          const result = await runCli(['alerts', '--json'], env);
          if (result.code !== 0) throw new Error(`tokenwatch alerts exited ${result.code}: ${result.stderr}`);
          return result.stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
        },
        (rows) => rows.some((alert) => alert.alert_key === 'jti-1'),
        { timeoutMs: 60_000, intervalMs: 1_000, what: 'tokenwatch alerts --json to list the replay of jti-1 (observed: its alerts)' },
      );
      expect(alerts.find((alert) => alert.alert_key === 'jti-1')).toMatchObject({ tenant: 'tenant-1', client_id: 'client-1', status: 'firing' });
    } finally {
      expect(await terminate(child, 'SIGTERM')).toBe(0);
    }
    const lines = child.logs().trim().split('\n');
    // Structured logs only: every stderr line is a JSON object with a level, a time and a
    // message; no secret in any.
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level?: unknown };
      expect(entry, line).toMatchObject({ time: expect.any(String), msg: expect.any(String) });
      expect(LOG_LEVELS, line).toContain(entry.level);
    }
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
