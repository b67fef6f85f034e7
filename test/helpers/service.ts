import { canonicalEvent } from './events.js';
import { runCli, spawnCli, type CliProcess, type CliResult } from './cli.js';
import { createTopic, produce, waitForConsumed } from './kafka.js';
import { freePort } from './net.js';
import { testEnv } from './settings.js';
import { waitFor, waitForChild } from './wait.js';

/** A `tokenwatch start` of a test's own: its own topic, group, data directory and HTTP port. */
export interface StartedService {
  readonly env: Record<string, string>;
  /** Where it serves HTTP (the console, /healthz): http://127.0.0.1:<port>. */
  readonly base: string;
  readonly process: CliProcess;
  /** Runs another tokenwatch command against it; a non-zero exit throws with its stderr. */
  cli(args: readonly string[]): Promise<CliResult>;
}

export interface StartOptions {
  /** The HTTP port, when the test must know it before start (an IdP's redirect URI); a free one otherwise. */
  readonly port?: number;
  /** Settings over testEnv's and this helper's own (a 200 ms batch wait, so events are stored at once). */
  readonly settings?: Record<string, string>;
}

/**
 * Starts `tokenwatch start` with testEnv(name) and returns once it serves /healthz; fails at
 * once, quoting its log, when it exits first. The caller stops it (terminate(service.process)).
 */
export async function startService(name: string, { port, settings = {} }: StartOptions = {}): Promise<StartedService> {
  const httpPort = port ?? (await freePort());
  const env = testEnv(name, { TOKENWATCH_HTTP_PORT: String(httpPort), TOKENWATCH_BATCH_MAX_WAIT_MS: '200', ...settings });
  const base = `http://127.0.0.1:${httpPort}`;
  await createTopic(env.TOKENWATCH_TOPIC as string);
  const service = spawnCli(['start'], env);
  await waitForChild(
    service,
    service.logs,
    () => fetch(`${base}/healthz`).then((response) => response.status === 200, () => false),
    { timeoutMs: 90_000, what: 'tokenwatch start to serve /healthz' },
  );
  const cli = async (args: readonly string[]): Promise<CliResult> => {
    const result = await runCli(args, env);
    if (result.code !== 0) throw new Error(`tokenwatch ${args.join(' ')} exited ${String(result.code)}: ${result.stderr}`);
    return result;
  };
  return { env, base, process: service, cli };
}

/**
 * An alert to look at: watches tenant-1/client-1 (for `reason`), sends one request of that
 * client from 203.0.113.50 and waits for the critical watched_credential alert it raises.
 */
export async function seedWatchedCredentialAlert(service: StartedService, reason: string): Promise<void> {
  const { env, cli } = service;
  await cli(['watch', 'add', '--tenant', 'tenant-1', '--client', 'client-1', '--reason', reason]);
  await produce(env.TOKENWATCH_TOPIC as string, [JSON.stringify(canonicalEvent(1, { time: Date.now(), source_ip: '203.0.113.50' }))]);
  await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
  await waitFor(
    async () => (await cli(['alerts', '--json'])).stdout,
    (text) => text.includes('"watched_credential"'),
    { timeoutMs: 60_000, intervalMs: 1_000, what: 'the watched_credential alert' },
  );
}
