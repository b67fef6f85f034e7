import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry, type Registry } from '@tokenwatch/shared/metrics';
import { startTap, type TapService } from '@tokenwatch/tap';
import { waitFor } from '../helpers/wait.js';
import { createTopic, readTopic } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const JWT_CLIENT = 'svc-orders';
const BASIC_CLIENT = 'svc-billing';
const BASIC_SECRET = `basic-secret-${randomBytes(24).toString('hex')}`;

interface Recorded {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** What the provider itself wrote, per request, recorded below the tap. */
const providerAnswers: Recorded[] = [];

let upstream: Server;
let issuer: string;
let tokenEndpoint: string;
let privateKey: CryptoKey;
const KID = 'orders-key-1';

async function startProvider(): Promise<void> {
  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
  const publicJwk = { ...(await exportJWK(keys.publicKey)), kid: KID, alg: 'ES256', use: 'sig' };

  upstream = createServer();
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  tokenEndpoint = `${issuer}/token`;

  const provider = new Provider(issuer, {
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    clients: [
      {
        client_id: JWT_CLIENT,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [publicJwk] },
        scope: 'orders.read orders.write',
      },
      {
        client_id: BASIC_CLIENT,
        client_secret: BASIC_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'billing.read',
      },
    ],
    scopes: ['orders.read', 'orders.write', 'billing.read'],
  });
  // Stock node-oidc-provider answers every client-authentication failure with the generic
  // "client authentication failed" and keeps the reason in error_detail (server side only).
  // Deployments that want callers to see the reason expose it like this; the tap can only
  // report a replay the IdP reveals in its answer.
  provider.on('grant.error', (ctx: { body: unknown }, error: { error_detail?: string }) => {
    if (error.error_detail && ctx.body && typeof ctx.body === 'object') ctx.body = { ...ctx.body, error_description: error.error_detail };
  });

  const callback = provider.callback();
  upstream.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // Record the bytes the provider writes, to compare with what comes out of the tap.
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (chunk) chunks.push(Buffer.from(chunk as string));
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string));
      providerAnswers.push({ status: res.statusCode, contentType: res.getHeader('content-type')?.toString(), body: Buffer.concat(chunks).toString('utf8') });
      return end(chunk, ...rest);
    }) as typeof res.end;
    callback(req, res);
  });
}

function signAssertion(): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(JWT_CLIENT)
    .setSubject(JWT_CLIENT)
    .setAudience(tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(privateKey);
}

async function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Recorded> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? undefined, body: await response.text() };
}

/** The value of a tap metric (a counter or gauge), for the given labels. */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const found = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.find((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))?.value;
}

const basicHeader = () => `Basic ${Buffer.from(`${encodeURIComponent(BASIC_CLIENT)}:${encodeURIComponent(BASIC_SECRET)}`).toString('base64')}`;
const logger = createLogger('silent');

beforeAll(async () => {
  await startProvider();
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

describe('tokenwatch tap in front of node-oidc-provider', () => {
  const env = testEnv('tap');
  const registry = createRegistry();
  let tap: TapService;

  beforeAll(async () => {
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, registry });
  });

  afterAll(async () => {
    await tap?.close();
  });

  it('relays the provider answers unchanged and publishes one event per token request', async () => {
    const assertion = await signAssertion();
    const jti = JSON.parse(Buffer.from(assertion.split('.')[1] as string, 'base64url').toString()).jti as string;
    const assertionForm = { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: 'orders.read' };
    const before = providerAnswers.length;

    const first = await post(`${tap.url}/token`, assertionForm);
    const replayed = await post(`${tap.url}/token`, assertionForm);
    const basic = await post(`${tap.url}/token`, { grant_type: 'client_credentials', scope: 'billing.read' }, { authorization: basicHeader() });

    // What the client got through the tap is byte for byte what the provider answered.
    expect(providerAnswers.slice(before)).toEqual([first, replayed, basic]);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ token_type: 'Bearer', scope: 'orders.read' });
    expect(replayed.status).toBe(401);
    expect(JSON.parse(replayed.body)).toEqual({ error: 'invalid_client', error_description: 'client assertion tokens must only be used once' });
    expect(basic.status).toBe(200);

    const messages = await readTopic(env.TOKENWATCH_TOPIC as string, 3);
    expect(messages).toHaveLength(3);
    const events = messages.map((message) => {
      const parsed = tokenRequestSchema.safeParse(JSON.parse(message.value));
      expect(parsed.success, message.value).toBe(true);
      return JSON.parse(message.value) as Record<string, unknown>;
    });
    expect(new Set(events.map((event) => event.event_id)).size).toBe(3);

    const withJti = events.filter((event) => (event.assertion as { jti?: string } | undefined)?.jti === jti);
    expect(withJti).toHaveLength(2);
    const [ok, replay] = [...withJti].sort((a, b) => Date.parse(a.time as string) - Date.parse(b.time as string));
    expect(ok).toMatchObject({
      idp: 'generic',
      tenant: issuer,
      client_id: JWT_CLIENT,
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      outcome: 'success',
      source_ip: '127.0.0.1',
      scopes: ['orders.read'],
      assertion: { jti, iss: JWT_CLIENT, sub: JWT_CLIENT, aud: tokenEndpoint, kid: KID, alg: 'ES256' },
    });
    expect(ok?.replay_reported).toBeUndefined();
    expect(replay).toMatchObject({ client_id: JWT_CLIENT, auth_method: 'private_key_jwt', outcome: 'failure', error_code: 'invalid_client', replay_reported: true });

    const basicEvent = events.find((event) => event.auth_method === 'client_secret_basic');
    expect(basicEvent).toMatchObject({ client_id: BASIC_CLIENT, outcome: 'success', scopes: ['billing.read'], source_ip: '127.0.0.1' });
    expect(basicEvent?.assertion).toBeUndefined();

    for (const message of messages) {
      expect(message.value).not.toContain(BASIC_SECRET);
      expect(message.value).not.toContain(basicHeader().slice('Basic '.length));
      expect(message.value).not.toContain(assertion.split('.')[2]);
      expect(message.value).not.toContain(assertion);
    }
    expect(tap.stats()).toMatchObject({ produced: 3, dropped: 0, queued: 0 });
  });

  it('relays requests to other paths of the upstream without reporting them', async () => {
    const response = await fetch(`${tap.url}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { token_endpoint: string }).token_endpoint).toBe(tokenEndpoint);
    expect(tap.stats().produced).toBe(3);
  });

  it('counts what it proxied and published on the registry it was given', async () => {
    expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'token' })).toBe(3);
    expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'other' })).toBe(1);
    expect(await metric(registry, 'tokenwatch_tap_events_published_total')).toBe(3);
    expect(await metric(registry, 'tokenwatch_tap_events_dropped_total')).toBe(0);
    expect(await metric(registry, 'tokenwatch_tap_events_invalid_total')).toBe(0);
    expect(await metric(registry, 'tokenwatch_tap_upstream_errors_total')).toBe(0);
    expect(await metric(registry, 'tokenwatch_tap_queue_depth')).toBe(0);
    expect(await metric(registry, 'tokenwatch_tap_queue_capacity')).toBe(10_000);
  });
});

describe('tokenwatch tap with a request body beyond the capture limit', () => {
  it('forwards the body unchanged without decoding it, and still reports the request', async () => {
    const env = testEnv('tap-big');
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    const tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, registry: createRegistry() });
    try {
      const before = providerAnswers.length;
      const form = { grant_type: 'client_credentials', scope: 'billing.read', padding: 'x'.repeat(100 * 1024) };
      const answer = await post(`${tap.url}/token`, form, { authorization: basicHeader() });
      expect(providerAnswers.slice(before)).toEqual([answer]);

      const messages = await readTopic(env.TOKENWATCH_TOPIC as string, 1);
      expect(messages).toHaveLength(1);
      const event = JSON.parse(messages[0]?.value ?? '{}') as Record<string, unknown>;
      // The form was not decoded (too large), the Authorization header still was.
      expect(event).toMatchObject({ grant_type: 'unknown', scopes: [], auth_method: 'client_secret_basic', client_id: BASIC_CLIENT });
      expect(event.outcome).toBe(answer.status < 300 ? 'success' : 'failure');
      expect(messages[0]?.value).not.toContain(BASIC_SECRET);
    } finally {
      await tap.close();
    }
  });
});

describe('tokenwatch tap with Kafka unreachable', () => {
  it('still relays the provider answers, keeps a bounded queue and counts what it drops', async () => {
    const env = testEnv('tap-down', { KAFKA_BROKERS: '127.0.0.1:1' });
    const registry = createRegistry();
    const tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, queueCapacity: 1, registry });
    try {
      const before = providerAnswers.length;
      const assertion = await signAssertion();
      const first = await post(`${tap.url}/token`, { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion });
      const basic = await post(`${tap.url}/token`, { grant_type: 'client_credentials' }, { authorization: basicHeader() });
      const wrongSecret = await post(`${tap.url}/token`, { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(`${BASIC_CLIENT}:wrong`).toString('base64')}` });

      expect(providerAnswers.slice(before)).toEqual([first, basic, wrongSecret]);
      expect([first.status, basic.status, wrongSecret.status]).toEqual([200, 200, 401]);
      expect(JSON.parse(first.body)).toHaveProperty('access_token');

      // Three events, room for one: after the first failed delivery attempt the oldest are dropped.
      const stats = await waitFor(() => tap.stats(), (current) => current.sendErrors >= 1 && current.dropped >= 2, { timeoutMs: 30_000, what: 'a failed Kafka delivery' });
      expect(stats).toMatchObject({ produced: 0, queued: 1, dropped: 2 });
      expect(await metric(registry, 'tokenwatch_tap_events_dropped_total')).toBe(2);
      expect(await metric(registry, 'tokenwatch_tap_queue_depth')).toBe(1);
      expect(await metric(registry, 'tokenwatch_tap_publish_errors_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'token' })).toBe(3);
    } finally {
      await tap.close(200);
    }
    expect(tap.stats()).toMatchObject({ produced: 0, queued: 0, dropped: 3 });
    // The batch in flight at close is counted by the metric once its send fails (stats() counts
    // it at once and takes it back if it arrives after all; a counter cannot take back).
    await waitFor(() => metric(registry, 'tokenwatch_tap_events_dropped_total'), (dropped) => dropped === 3, {
      timeoutMs: 30_000,
      what: 'the abandoned batch to be counted as dropped',
    });
    expect(await metric(registry, 'tokenwatch_tap_events_published_total')).toBe(0);
    expect(await metric(registry, 'tokenwatch_tap_queue_depth')).toBe(0);
  });
});

describe('tokenwatch tap with the upstream unreachable', () => {
  it('answers 502 and counts an upstream error; the request is not reported', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const env = testEnv('tap-no-upstream', { KAFKA_BROKERS: '127.0.0.1:1' });
    const registry = createRegistry();
    const tap = await startTap({ upstream: `http://127.0.0.1:${deadPort}/token`, settings: settingsFrom(env), logger, registry });
    try {
      const answer = await post(`${tap.url}/token`, { grant_type: 'client_credentials' }, { authorization: basicHeader() });
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'temporarily_unavailable' });
      expect(await metric(registry, 'tokenwatch_tap_upstream_errors_total')).toBe(1);
      expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'token' })).toBe(1);
      expect(tap.stats()).toMatchObject({ queued: 0, produced: 0, dropped: 0 });
    } finally {
      await tap.close(200);
    }
  });
});
