import { describe, expect, it } from 'vitest';
import { spawnCli, terminate } from '../helpers/cli.js';
import { KEYCLOAK_LOG, KEYCLOAK_URL, requireKeycloak } from '../helpers/keycloak.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// `tokenwatch demo --idp keycloak` (issue #12 step 5): real client_credentials requests of four
// machine clients against the running Keycloak, an attack every 6 s, and the alerts that
// Keycloak's own log produced. With KAFKA_BROKERS set no broker is started; Keycloak already runs
// (`npm test` starts it), so the demo neither starts nor stops it.

/** Each attack and the alert it must raise, as `[SEVERITY] finding firing: client <id>`. */
const EXPECTED = [
  ['jti_replay', 'svc-jwt'],
  ['mint_volume', 'svc-secret-basic'],
  ['invalid_client_burst', 'svc-secret-post'],
  ['secret_new_location', 'svc-secret-post'],
] as const;

const ALERT_LINE = /^\[(?:CRITICAL|HIGH|MEDIUM|LOW|INFO)\] (\S+) firing(?: \(repeat\))?: client (\S+) /gm;

describe('tokenwatch demo --idp keycloak', () => {
  it('drives the real Keycloak and shows the alerts of each attack, and only those', async () => {
    await requireKeycloak();
    const env = testEnv('demo-keycloak', { TOKENWATCH_HTTP_PORT: '0' });
    delete env.LOG_LEVEL; // the demo's own default
    const child = spawnCli(['demo', '--idp', 'keycloak', '--keycloak-url', KEYCLOAK_URL, '--keycloak-log', KEYCLOAK_LOG, '--rate', '1', '--attack-every', '0.1'], env);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const alerts = () => new Set([...stdout.matchAll(ALERT_LINE)].map((match) => `${match[1]} ${match[2]}`));
    try {
      // The stolen secret comes after each client's first half minute (the demo's learning period).
      await waitFor(
        () => ({ missing: EXPECTED.map(([finding, client]) => `${finding} ${client}`).filter((alert) => !alerts().has(alert)), stderrEnd: child.logs().slice(-1_500) }),
        (seen) => seen.missing.length === 0,
        { timeoutMs: 180_000, intervalMs: 1_000, what: 'an alert for every attack on stdout (observed: the alerts still missing)' },
      );
    } finally {
      expect(await terminate(child, 'SIGINT')).toBe(0);
    }
    // Ordinary traffic raised nothing: every alert is one an attack asked for.
    expect([...alerts()].sort()).toEqual(EXPECTED.map(([finding, client]) => `${finding} ${client}`).sort());
    expect(child.logs()).toContain('attack: replayed assertion (expect jti_replay on svc-jwt)');
    expect(child.logs()).toContain('tokenwatch demo: stopped');
    expect(child.logs()).not.toContain('stopping the Keycloak'); // it was running already
  }, 240_000);
});
