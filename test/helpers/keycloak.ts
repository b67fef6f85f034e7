import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { DEFAULT_KEYCLOAK_LOG, DEFAULT_KEYCLOAK_URL, KeycloakDemoRealm } from '@tokenwatch/demo/keycloak/client';
import { AppendedLines } from '@tokenwatch/demo/keycloak/log';
import { runCli } from './cli.js';
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

/** Keycloak's log from the current end on. */
export function keycloakLogFromNow(): AppendedLines {
  return new AppendedLines(KEYCLOAK_LOG);
}

/** Waits until Keycloak logged `count` lines containing `needle` after `from`; returns every line it logged after `from`. */
export async function waitForLogged(from: number, needle: string, count: number, what: string): Promise<string[]> {
  const lines: string[] = [];
  const log = new AppendedLines(KEYCLOAK_LOG, from);
  await waitFor(
    () => {
      lines.push(...log.read());
      return lines.filter((line) => line.includes(needle)).length;
    },
    (seen) => seen >= count,
    { timeoutMs: 20_000, intervalMs: 100, what: `Keycloak to log ${count} ${what} (observed: how many)` },
  );
  return lines;
}

/**
 * Ships Keycloak's log lines to the token-request topic with `tokenwatch produce`, as an operator
 * would. The one place to switch to the follower once it exists:
 * `spawnCli(['produce', '--follow', KEYCLOAK_LOG], env)` started before the requests.
 */
export async function shipToKafka(lines: readonly string[], env: Record<string, string>): Promise<void> {
  const result = await runCli(['produce', '-'], env, { input: `${lines.join('\n')}\n` });
  if (result.code !== 0) throw new Error(`tokenwatch produce exited ${result.code}: ${result.stderr}`);
}
