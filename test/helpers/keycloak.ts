import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_KEYCLOAK_LOG, DEFAULT_KEYCLOAK_URL, KeycloakDemoRealm } from '@tokenwatch/demo/keycloak/client';
import { spawnCli, terminate } from './cli.js';
import { waitFor } from './wait.js';

/**
 * The real Keycloak the tests drive: `npm run keycloak:start` (infra/keycloak/keycloak.sh, which
 * `npm test` and `.ci/run` run), found at KEYCLOAK_URL, its JSON log at KEYCLOAK_LOG.
 */
export const KEYCLOAK_URL = process.env.KEYCLOAK_URL ?? DEFAULT_KEYCLOAK_URL;
export const KEYCLOAK_LOG = process.env.KEYCLOAK_LOG ?? DEFAULT_KEYCLOAK_LOG;

/**
 * The demo realm, or an error saying how to start it: a test that needs Keycloak fails when it is
 * not running, never skips.
 */
export async function requireKeycloak(): Promise<KeycloakDemoRealm> {
  const realm = new KeycloakDemoRealm(KEYCLOAK_URL);
  await realm.ensureRunning();
  if (!existsSync(KEYCLOAK_LOG)) {
    throw new Error(`Keycloak answers at ${KEYCLOAK_URL} but its log ${KEYCLOAK_LOG} does not exist: start it with \`npm run keycloak:start\` or set KEYCLOAK_LOG`);
  }
  return realm;
}

/**
 * An address of 198.18.0.0/15 (RFC 2544, never routed) for one test's requests, sent as
 * X-Forwarded-For: Keycloak logs it as the client's address, so a test's rows are told apart
 * from those of other tests driving the same server at the same time.
 */
export function testAddress(): string {
  return `198.${randomInt(18, 20)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

/** The size of Keycloak's log now: the offset of what it logs next. */
export function keycloakLogSize(): number {
  return statSync(KEYCLOAK_LOG).size;
}

/** The complete lines of Keycloak's log after byte `from` (keycloak.sh truncates it when the server starts: then none). */
function loggedAfter(from: number): string[] {
  const logged = readFileSync(KEYCLOAK_LOG).subarray(from);
  const end = logged.lastIndexOf(0x0a);
  return end < 0 ? [] : logged.subarray(0, end).toString('utf8').split('\n').filter((line) => line.trim() !== '');
}

/** Waits until Keycloak logged `count` lines containing `needle` after byte `from`; returns every line it logged after `from`. */
export async function waitForLogged(from: number, needle: string, count: number, what: string): Promise<string[]> {
  return waitFor(
    () => loggedAfter(from),
    (lines) => lines.filter((line) => line.includes(needle)).length >= count,
    { timeoutMs: 20_000, intervalMs: 100, what: `Keycloak to log ${count} ${what} (observed: the lines after ${from})` },
  );
}

/**
 * Ships what Keycloak logs to the token-request topic as an operator would: `tokenwatch produce
 * --follow <log> --from-end`, with its position in a temporary state file. Resolves once the
 * follower opened the log at its end (its "following file" line), so every request sent after
 * is shipped; `caughtUp` then waits until it published everything Keycloak logged so far, and
 * `stop` stops it (SIGTERM), expecting a clean exit; `logs` is its stderr.
 */
export async function shipToKafka(env: Record<string, string>): Promise<{ caughtUp(): Promise<void>; stop(): Promise<void>; logs(): string }> {
  const statePath = join(mkdtempSync(join(tmpdir(), 'tokenwatch-keycloak-follow-')), 'position.json');
  const follower = spawnCli(['produce', '--follow', KEYCLOAK_LOG, '--from-end', '--state', statePath, '--poll-interval', '100'], { ...env, LOG_LEVEL: 'info' });
  await waitFor(() => ({ exitCode: follower.exitCode, logs: follower.logs() }), ({ exitCode, logs }) => exitCode !== null || logs.includes('"msg":"following file"'), {
    timeoutMs: 30_000,
    what: `tokenwatch produce --follow to open ${KEYCLOAK_LOG} (observed: its exit code and stderr)`,
  });
  if (follower.exitCode !== null) throw new Error(`tokenwatch produce --follow exited ${follower.exitCode}: ${follower.logs()}`);
  const savedPosition = () => (existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as { position: number }).position : -1);
  return {
    logs: () => follower.logs(),
    caughtUp: async () => {
      const logged = keycloakLogSize();
      await waitFor(() => savedPosition(), (position) => position >= logged, { timeoutMs: 30_000, what: `the follower's saved position to reach ${logged}, the size of Keycloak's log (observed: the position)` });
    },
    stop: async () => {
      const code = await terminate(follower);
      if (code !== 0) throw new Error(`tokenwatch produce --follow exited ${code}: ${follower.logs()}`);
    },
  };
}
