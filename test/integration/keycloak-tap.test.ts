import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeycloakDemoRealm, type SignedAssertion, type TokenAnswer } from '@tokenwatch/demo/keycloak/client';
import { keycloakFormat } from '@tokenwatch/ingest/formats/keycloak';
import type { TokenRequest } from '@tokenwatch/shared/events/token-request';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { startTap, type TapService } from '@tokenwatch/tap';
import { eventOf, validated } from '../helpers/formats.js';
import { createTopic, readTopic } from '../helpers/kafka.js';
import { KEYCLOAK_URL, keycloakLogSize, requireKeycloak, testAddress, waitForLogged } from '../helpers/keycloak.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Issue #12 step 4: the assertion tap in front of a real Keycloak. For the same requests, the
// tap's events and what Keycloak logged (read by the Keycloak adapter, as ingest reads it) name
// the same client, jti, outcome and address, and a replay is seen by both.

/** What both sides must agree on, per request. */
const agreed = (event: TokenRequest) => ({ client_id: event.client_id, jti: event.assertion?.jti ?? '', outcome: event.outcome, source_ip: event.source_ip });

describe('the assertion tap in front of a real Keycloak', () => {
  const env = testEnv('keycloak-tap');
  const address = testAddress();
  const options = { forwardedFor: address };
  const answers: TokenAnswer[] = [];
  let tap: TapService;
  let tapEvents: TokenRequest[] = [];
  let keycloakEvents: TokenRequest[] = [];
  let replayed: SignedAssertion;

  beforeAll(async () => {
    const direct = await requireKeycloak();
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    // The test's requests come from loopback, a proxy the tap trusts: their X-Forwarded-For is
    // believed and passed on (with the tap's peer appended), as Keycloak trusts it from loopback.
    tap = await startTap({ upstream: direct.tokenEndpoint, trustedProxies: ['127.0.0.1/32'], tenant: 'demo', settings: settingsFrom(env), logger: createLogger('silent'), registry: createRegistry() });
    const realm = new KeycloakDemoRealm(KEYCLOAK_URL, { via: tap.url });
    const from = keycloakLogSize();

    const send = async (answer: Promise<TokenAnswer>) => answers.push(await answer);
    await send(realm.secretBasic('svc-secret-basic', realm.secretOf('svc-secret-basic'), options));
    await send(realm.secretPost('svc-secret-post', 'wrong-secret-post-tap-5512', options));
    await send(realm.sendAssertion('svc-jwt', realm.privateKeyJwt('svc-jwt', { audience: 'https://wrong-audience.example/token' }), options));
    await send(realm.sendAssertion('svc-secret-jwt', realm.clientSecretJwt('svc-secret-jwt', realm.secretOf('svc-secret-jwt')), options));
    replayed = realm.privateKeyJwt('svc-jwt');
    await send(realm.sendAssertion('svc-jwt', replayed, options));
    await send(realm.sendAssertion('svc-jwt', replayed, options));

    tapEvents = (await readTopic(env.TOKENWATCH_TOPIC as string, answers.length)).map((message) => validated(JSON.parse(message.value) as Record<string, unknown>));
    const lines = await waitForLogged(from, `ipAddress=\\"${address}\\"`, answers.length, `events from ${address}`);
    // Ours: the events from our address, and the replay warning of our jti (it names no address).
    // A line that is not a JSON object is not one of Keycloak's events (ingest dead-letters it).
    keycloakEvents = lines
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => keycloakFormat.adapt(JSON.parse(line) as Record<string, unknown>))
      .filter((result) => result.kind !== 'skip')
      .map((result) => validated(eventOf(result).event))
      .filter((event) => event.source_ip === address || event.assertion?.jti === replayed.jti);
  }, 120_000);

  afterAll(async () => {
    await tap?.close();
  });

  it('relays Keycloak\'s answers: the grants succeed, the bad credentials and the replay are refused', () => {
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 400, 200, 200, 400]);
  });

  it('publishes one event per request, agreeing with Keycloak\'s log on client, jti, outcome and address', () => {
    expect(tapEvents).toHaveLength(answers.length);
    const logged = keycloakEvents.filter((event) => !event.replay_reported);
    expect(logged.map(agreed)).toEqual(tapEvents.map(agreed));
    expect(tapEvents.map((event) => event.source_ip)).toEqual(answers.map(() => address));
  });

  it('sees the replay on both sides: two uses of one jti, the second refused and reported as a replay', () => {
    const tapUses = tapEvents.filter((event) => event.assertion?.jti === replayed.jti);
    expect(tapUses.map((event) => [event.outcome, event.replay_reported ?? false])).toEqual([
      ['success', false],
      ['failure', true], // Keycloak answered "Token reuse detected"
    ]);
    const keycloakUses = keycloakEvents.filter((event) => event.assertion?.jti === replayed.jti);
    expect(keycloakUses.map((event) => [event.client_id, event.outcome, event.replay_reported ?? false])).toEqual([
      ['svc-jwt', 'success', false],
      ['unknown', 'failure', true], // the warning: `Token '<jti>' already used when for issuedFor 'null'`
      ['svc-jwt', 'failure', false],
    ]);
  });
});
