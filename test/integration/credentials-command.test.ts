import { beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { runCli } from '../helpers/cli.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { storeEvents, TEST_RETENTION_DAYS } from '../helpers/storage.js';

const DAY = 86_400_000;
const NOW = Date.now();
const AWS = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const GCP = { source_ip: '34.89.1.2', geo: { country: 'DE', asn: 396982, as_org: 'GOOGLE-CLOUD-PLATFORM' } };

let seq = 0;
function request(client: string, time: number, where: typeof AWS, extra: Partial<TokenRequestInput>): TokenRequestInput {
  seq += 1;
  return { event_id: `credcmd-${seq}`, time, idp: 'generic', tenant: 'acme', client_id: client, grant_type: 'client_credentials', auth_method: 'client_secret_basic', outcome: 'success', ...where, ...extra };
}

describe('`tokenwatch credentials` (embedded chDB, the CLI in its own process)', () => {
  const env = testEnv('credentials-command');

  beforeAll(async () => {
    const clickhouse = await openClickHouse(settingsFrom(env));
    try {
      await migrate(clickhouse.client, { retention_days: TEST_RETENTION_DAYS });
      await storeEvents(clickhouse, [
        request('svc-billing', NOW - 120 * DAY, AWS, { credential_id: 'key-1' }),
        request('svc-billing', NOW - 10 * DAY, GCP, { credential_id: 'key-1' }),
        request('svc-billing', NOW - 5 * DAY, AWS, { credential_id: 'key-2' }),
        request('svc-billing', NOW - 2 * DAY, AWS, { credential_id: 'key-2' }),
        // A refused request names a credential that never minted: not listed.
        request('svc-billing', NOW - DAY, GCP, { credential_id: 'key-guess', outcome: 'failure', error_code: 'invalid_client' }),
        request('svc-signer', NOW - 3 * DAY, GCP, { auth_method: 'private_key_jwt', assertion: { kid: 'kid-2026-11', jti: 'j-1' } }),
        // The tap read this kid from an assertion the IdP refused: nobody vouches for it.
        request('svc-signer', NOW - DAY, GCP, { auth_method: 'private_key_jwt', assertion: { kid: 'kid-forged', jti: 'j-2' }, outcome: 'failure', error_code: 'invalid_client', assertion_unverified: true }),
        // No credential named at all (Okta, Cognito, Keycloak logs): nothing to list.
        request('svc-okta', NOW - DAY, AWS, {}),
      ]);
    } finally {
      await clickhouse.close();
    }
  }, 120_000);

  it('--json lists every credential per client, oldest first, with first and last use, age, networks and countries', async () => {
    const result = await runCli(['credentials', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const credentials = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(credentials.map((row) => [row.client_id, row.credential])).toEqual([
      ['svc-billing', 'key-1'],
      ['svc-billing', 'key-2'],
      ['svc-signer', 'kid-2026-11'],
    ]);
    expect(credentials[0]).toEqual({
      tenant: 'acme',
      client_id: 'svc-billing',
      credential: 'key-1',
      credential_source: 'credential_id',
      auth_method: 'client_secret_basic',
      first_use: new Date(NOW - 120 * DAY).toISOString(),
      last_use: new Date(NOW - 10 * DAY).toISOString(),
      age_days: expect.closeTo(120, 0) as unknown as number,
      idle_days: expect.closeTo(10, 0) as unknown as number,
      requests: 2,
      networks: [14618, 396982],
      countries: ['DE', 'US'],
    });
    expect(credentials[2]).toMatchObject({ credential_source: 'assertion_kid', auth_method: 'private_key_jwt', networks: [396982], requests: 1 });
    expect(result.stderr.trim()).toBe('3 credentials');
  });

  it('narrows with --client, cuts at --limit and says so, and prints text by default', async () => {
    const one = await runCli(['credentials', '--client', 'svc-signer'], env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^svc-signer, tenant acme\n {2}kid kid-2026-11 \(private_key_jwt\): .* 3 days old, idle 3 days, 1 requests; networks: AS396982; countries: DE\n$/);
    const cut = await runCli(['credentials', '--limit', '2'], env);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout).not.toContain('kid-2026-11');
    expect(cut.stderr).toContain('2 credentials; more: raise --limit');
  });

  it('refuses a bad --limit with one line naming it', async () => {
    const result = await runCli(['credentials', '--limit', '0'], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--limit');
  });
});
