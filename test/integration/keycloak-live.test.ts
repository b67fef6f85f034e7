import { resolve } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeycloakDemoRealm, SignedAssertion, TokenAnswer } from '@tokenwatch/demo/keycloak/client';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { createTopic, readTopic, waitForConsumed } from '../helpers/kafka.js';
import { keycloakLogSize, requireKeycloak, shipToKafka, testAddress, waitForLogged } from '../helpers/keycloak.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// Issue #12 step 6: a real Keycloak (`npm run keycloak:start`, started once by `.ci/run` and by
// `npm test`) answers every kind of machine-client token request; what it logs goes through
// `tokenwatch produce --follow` (started before the requests, as an operator runs it) into
// Kafka, and `tokenwatch start` (ingest, detectors, notifier) makes of it exactly the expected
// rows, one jti_replay alert per replay within 30 s, and no secret anywhere.

/** A stored row, in the columns that say what the request was. */
interface Row {
  tenant: string;
  client_id: string;
  grant_type: string;
  auth_method: string;
  outcome: string;
  error_code: string;
  source_ip: string;
  assertion_jti: string;
  assertion_unverified: boolean;
  replay_reported: boolean;
}

const WRONG = { basic: 'wrong-secret-basic-live-7731', post: 'wrong-secret-post-live-7731', none: 'secret-of-no-client-live-7731', hs256: 'wrong-hs256-key-live-000000000000000000000000' };

describe('a real Keycloak, through Kafka, ingest and the detectors', () => {
  const env = testEnv('keycloak-live', { LOG_LEVEL: 'debug', TOKENWATCH_HTTP_PORT: '0', TOKENWATCH_BATCH_MAX_WAIT_MS: '200' });
  const address = testAddress();
  const expected: Row[] = [];
  const assertions: SignedAssertion[] = [];
  const replayedJtis: string[] = [];
  let realm: KeycloakDemoRealm;
  let service: CliProcess | undefined;
  let shipping: Awaited<ReturnType<typeof shipToKafka>> | undefined;
  let stdout = '';
  let replaySentAt = 0;

  /** One row per request as docs/formats/keycloak.md says Keycloak logs it. */
  const row = (client: string, outcome: 'success' | 'failure', more: Partial<Row> = {}): Row => ({
    tenant: 'demo',
    client_id: client,
    grant_type: 'client_credentials',
    auth_method: 'unknown', // CLIENT_LOGIN_ERROR never carries client_auth_method
    outcome,
    error_code: outcome === 'failure' ? 'invalid_client_credentials' : '',
    source_ip: address,
    assertion_jti: '',
    assertion_unverified: false,
    replay_reported: false,
    ...more,
  });
  /** The warning Keycloak logs before a replay's CLIENT_LOGIN_ERROR: no realm, client or address (no MDC logging). */
  const replayWarning = (jti: string): Row => ({
    tenant: 'unknown',
    client_id: 'unknown',
    grant_type: 'unknown',
    auth_method: 'unknown',
    outcome: 'failure',
    error_code: 'invalid_client',
    source_ip: '::',
    assertion_jti: jti,
    assertion_unverified: false,
    replay_reported: true,
  });

  const sql = async <T>(query: string, params: Record<string, string | string[]> = {}): Promise<T[]> => {
    const server = readDiscovery(resolve(env.TOKENWATCH_DATA_DIR as string));
    if (!server) throw new Error('tokenwatch start does not serve queries (yet)');
    const text = await streamText(await queryThroughServer(server, { query, format: 'JSONEachRow', params }));
    return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as T);
  };
  const send = async (answer: Promise<TokenAnswer>, status: number): Promise<void> => {
    expect((await answer).status).toBe(status);
  };
  const signed = (assertion: SignedAssertion): SignedAssertion => {
    assertions.push(assertion);
    return assertion;
  };

  beforeAll(async () => {
    realm = await requireKeycloak();
    await createTopic(env.TOKENWATCH_TOPIC as string);
    await createTopic(env.TOKENWATCH_DLQ_TOPIC as string, 1);
    service = spawnCli(['start'], env);
    service.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    await waitFor(() => service?.logs() ?? '', (logs) => logs.includes('tokenwatch service running'), { timeoutMs: 90_000, what: 'tokenwatch start to run (observed: its stderr)' });

    // The follower first, at the log's end: everything our requests make Keycloak log is shipped.
    shipping = await shipToKafka(env);
    const from = keycloakLogSize();
    const options = { forwardedFor: address };
    const basic = realm.secretOf('svc-secret-basic');
    const post = realm.secretOf('svc-secret-post');
    const hs256 = realm.secretOf('svc-secret-jwt');

    await send(realm.secretBasic('svc-secret-basic', basic, options), 200);
    expected.push(row('svc-secret-basic', 'success', { auth_method: 'client_secret' }));
    await send(realm.secretBasic('svc-secret-basic', WRONG.basic, options), 401);
    expected.push(row('svc-secret-basic', 'failure'));
    await send(realm.secretPost('svc-secret-post', post, options), 200);
    expected.push(row('svc-secret-post', 'success', { auth_method: 'client_secret' }));
    await send(realm.secretPost('svc-secret-post', WRONG.post, options), 401);
    expected.push(row('svc-secret-post', 'failure'));
    await send(realm.secretPost('svc-does-not-exist', WRONG.none, options), 401);
    expected.push(row('svc-does-not-exist', 'failure', { error_code: 'client_not_found' }));
    await send(realm.secretPost('svc-disabled', realm.secretOf('svc-disabled'), options), 401);
    expected.push(row('svc-disabled', 'failure', { error_code: 'client_disabled' }));

    const good = signed(realm.privateKeyJwt('svc-jwt'));
    await send(realm.sendAssertion('svc-jwt', good, options), 200);
    expected.push(row('svc-jwt', 'success', { auth_method: 'private_key_jwt', assertion_jti: good.jti }));
    const expired = signed(realm.privateKeyJwt('svc-jwt', { issuedAgo: 660, expiresIn: 60 }));
    await send(realm.sendAssertion('svc-jwt', expired, options), 400);
    expected.push(row('svc-jwt', 'failure', { assertion_jti: expired.jti, assertion_unverified: true }));
    const misaddressed = signed(realm.privateKeyJwt('svc-jwt', { audience: 'https://wrong-audience.example/token' }));
    await send(realm.sendAssertion('svc-jwt', misaddressed, options), 400);
    expected.push(row('svc-jwt', 'failure', { assertion_jti: misaddressed.jti, assertion_unverified: true }));

    const hsGood = signed(realm.clientSecretJwt('svc-secret-jwt', hs256));
    await send(realm.sendAssertion('svc-secret-jwt', hsGood, options), 200);
    expected.push(row('svc-secret-jwt', 'success', { auth_method: 'client_secret_jwt', assertion_jti: hsGood.jti }));
    const hsWrong = signed(realm.clientSecretJwt('svc-secret-jwt', WRONG.hs256));
    await send(realm.sendAssertion('svc-secret-jwt', hsWrong, options), 400);
    expected.push(row('svc-secret-jwt', 'failure', { assertion_jti: hsWrong.jti, assertion_unverified: true }));

    // The replays: each assertion method's valid assertion sent twice (200, then 400).
    const replayed = [
      ['svc-jwt', 'private_key_jwt', signed(realm.privateKeyJwt('svc-jwt'))],
      ['svc-secret-jwt', 'client_secret_jwt', signed(realm.clientSecretJwt('svc-secret-jwt', hs256))],
    ] as const;
    for (const [client, method, assertion] of replayed) {
      await send(realm.sendAssertion(client, assertion, options), 200);
      expected.push(row(client, 'success', { auth_method: method, assertion_jti: assertion.jti }));
      replayedJtis.push(assertion.jti);
    }
    replaySentAt = Date.now();
    for (const [client, , assertion] of replayed) {
      await send(realm.sendAssertion(client, assertion, options), 400);
      expected.push(replayWarning(assertion.jti), row(client, 'failure', { assertion_jti: assertion.jti, assertion_unverified: true }));
    }

    // Every request's event (they all name our address), then the follower has published them all.
    await waitForLogged(from, `ipAddress=\\"${address}\\"`, expected.filter((r) => !r.replay_reported).length, `events from ${address}`);
    await shipping.caughtUp();
    await shipping.stop();
  }, 180_000);

  afterAll(async () => {
    await shipping?.stop().catch(() => undefined); // stopped already unless beforeAll failed
    if (service && service.exitCode === null) await terminate(service);
  });

  it('raises one jti_replay per replayed assertion, for its client in realm demo, within 30 s of the replay', async () => {
    const alerts = await waitFor(
      // Ours only: every line Keycloak logs is shipped, so the replays of a test driving it at the same time (the demo's) are too.
      () => sql<{ tenant: string; client_id: string; alert_key: string }>("SELECT tenant, client_id, alert_key FROM alerts FINAL WHERE finding = 'jti_replay' AND alert_key IN {jtis:Array(String)}", { jtis: replayedJtis }),
      (rows) => rows.length >= replayedJtis.length,
      { timeoutMs: 30_000 - (Date.now() - replaySentAt), intervalMs: 250, what: 'a jti_replay alert per replayed assertion (observed: the jti_replay alerts)' },
    );
    const latency = Date.now() - replaySentAt;
    expect(latency).toBeLessThanOrEqual(30_000);
    const byClient = (a: { client_id: string }, b: { client_id: string }) => (a.client_id < b.client_id ? -1 : 1);
    expect(alerts.sort(byClient)).toEqual([
      { tenant: 'demo', client_id: 'svc-jwt', alert_key: replayedJtis[0] },
      { tenant: 'demo', client_id: 'svc-secret-jwt', alert_key: replayedJtis[1] },
    ]);
    // eslint-disable-next-line no-console
    console.log(`keycloak-live: replay to jti_replay alert in ${latency} ms`);
  }, 60_000);

  it('stores each auth method\'s grants and failures as exactly the expected rows', async () => {
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
    const jtis = assertions.map((assertion) => assertion.jti);
    const stored = await sql<Row>(
      `SELECT tenant, client_id, grant_type, toString(auth_method) AS auth_method, toString(outcome) AS outcome, error_code,
              replaceRegexpOne(toString(source_ip), '^::ffff:', '') AS source_ip, assertion_jti, assertion_unverified, replay_reported
       FROM token_requests FINAL
       WHERE replaceRegexpOne(toString(source_ip), '^::ffff:', '') = {address:String} OR assertion_jti IN {jtis:Array(String)}`,
      { address, jtis },
    );
    const order = (rows: Row[]) =>
      rows
        .map((r) => ({ ...r, assertion_unverified: Boolean(r.assertion_unverified), replay_reported: Boolean(r.replay_reported) }))
        .map((r) => [JSON.stringify(r), r] as const)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, r]) => r);
    expect(order(stored)).toEqual(order(expected));
  }, 120_000);

  it('keeps every client secret and assertion out of storage, the dead-letter topic and the logs (the service\'s and the follower\'s)', async () => {
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
    const secrets = [
      ...realm.realmSecrets(),
      ...Object.values(WRONG),
      ...assertions.map((assertion) => assertion.jwt),
      // A signature alone is what a partial leak would keep.
      ...assertions.map((assertion) => assertion.jwt.split('.')[2] ?? ''),
    ];
    expect(secrets.length).toBeGreaterThan(20);
    const stored = JSON.stringify(await sql('SELECT * FROM token_requests FINAL')) + JSON.stringify(await sql('SELECT * FROM alerts FINAL'));
    expect(stored).toContain(replayedJtis[0]); // the check reads real content
    const letters = await readTopic(env.TOKENWATCH_DLQ_TOPIC as string, 0);
    const deadLettered = letters.map((letter) => `${letter.value}\n${JSON.stringify(letter.headers)}`).join('\n');
    expect(await terminate(service!)).toBe(0);
    const logs = `${service!.logs()}\n${stdout}\n${shipping!.logs()}`;
    expect(logs).toContain('tokenwatch service running');
    expect(logs).toContain('stopped following'); // the follower's logs are read too
    for (const secret of secrets) {
      expect(stored, `ClickHouse holds ${secret}`).not.toContain(secret);
      expect(deadLettered, `the dead-letter topic holds ${secret}`).not.toContain(secret);
      expect(logs, `tokenwatch's logs hold ${secret}`).not.toContain(secret);
    }
  }, 120_000);
});
