import { describe, expect, it } from 'vitest';
import { spawnCli, terminate } from '../helpers/cli.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// `tokenwatch demo` smoke test: the real CLI with KAFKA_BROKERS set (so no broker is started or
// stopped), no back-fill and an attack every 15 s, so the first alert comes within a minute.

describe('tokenwatch demo', () => {
  it('shows the status line, prints an alert, and stops cleanly on Ctrl-C', async () => {
    const env = testEnv('demo', { TOKENWATCH_HTTP_PORT: '0' });
    delete env.LOG_LEVEL; // the demo's own default
    const child = spawnCli(['demo', '--rate', '50', '--history-days', '0', '--attack-every', '0.25'], env);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    try {
      // On a timeout the error quotes the stream as it was then, not as it was before the wait.
      await waitFor(() => child.logs(), (stderr) => /events\/s produced, .* stored \| .* requests stored \| lag .* \| \d+ alerts firing/.test(stderr), {
        timeoutMs: 60_000,
        what: 'the status line (observed: stderr)',
      });
      await waitFor(
        () => ({ alert: /\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] \S+ firing/.exec(stdout)?.[0], stdoutEnd: stdout.slice(-1_000), stderrEnd: child.logs().slice(-1_000) }),
        (seen) => seen.alert !== undefined,
        { timeoutMs: 90_000, intervalMs: 500, what: 'an alert on stdout' },
      );
    } finally {
      expect(await terminate(child, 'SIGINT')).toBe(0);
    }
    expect(child.logs()).toMatch(/injected \S+ on /);
    expect(child.logs()).toContain('tokenwatch demo: stopped');
    expect(child.logs()).not.toContain('stopping the Kafka broker'); // KAFKA_BROKERS was set
  }, 150_000);

  // The first run back-fills history; its first attack, a replay, is in the history's first
  // minute, so its alert comes while the rest of the history is still arriving, and the status
  // line says how far the back-fill has got and when it will be done.
  it('shows the back-fill progress and ETA, and raises the alert of the attack placed in the history', async () => {
    const env = testEnv('demo-backfill', { TOKENWATCH_HTTP_PORT: '0' });
    delete env.LOG_LEVEL;
    const child = spawnCli(['demo'], env); // the default 8 days: far more than stored before Ctrl-C
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    try {
      await waitFor(
        () => child.logs(),
        (stderr) => /back-filling history: [\d,]+ of about [\d,]+ requests stored \(\d+%\), [\d.]+ of 8 days of history \| ETA (\d+ s|\d+ min \d\d s) \| \d+ alerts firing/.test(stderr),
        { timeoutMs: 90_000, what: 'the back-fill status line with progress and an ETA (observed: stderr)' },
      );
      await waitFor(
        () => ({ alert: /\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] jti_replay firing: client .*/.exec(stdout)?.[0], stdoutEnd: stdout.slice(-1_000), stderrEnd: child.logs().slice(-1_000) }),
        (seen) => seen.alert !== undefined,
        { timeoutMs: 120_000, intervalMs: 500, what: 'the jti_replay alert on stdout' },
      );
    } finally {
      expect(await terminate(child, 'SIGINT')).toBe(0);
    }
    // The label the demo printed names the client the alert is about.
    // "on <tenant>/<client_id>": tenants are URLs, client ids have no slash.
    const injected = /injected replay_accepted on (\S+)\/([^/\s]+) \(expect a jti_replay alert\)/.exec(child.logs());
    expect(injected, child.logs().slice(-2_000)).not.toBeNull();
    const alerts = stdout.split('\n').filter((line) => line.includes('jti_replay firing'));
    expect(alerts.some((line) => line.endsWith(`(${injected?.[2]}), tenant ${injected?.[1]}`)), alerts.join('\n')).toBe(true);

    // Stopped long before its back-fill was done: the next run back-fills the gap since the
    // newest stored request rather than leave the baselines with a hole.
    const again = spawnCli(['demo'], env);
    try {
      await waitFor(
        () => again.logs(),
        (stderr) => /found earlier data \([\d,]+ stored requests, the newest [\d.]+ days old\): back-filling the [\d.]+ days since/.test(stderr),
        { timeoutMs: 90_000, what: 'the second run back-filling the gap (observed: stderr)' },
      );
    } finally {
      expect(await terminate(again, 'SIGINT')).toBe(0);
    }
  }, 300_000);
});
