import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRequestSchema, type TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { createLogger } from '@tokenwatch/shared/log';
import { createRegistry, type Registry } from '@tokenwatch/shared/metrics';
import { parseConfig } from '@tokenwatch/server/config-file';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createTapMetrics } from '@tokenwatch/shared/metrics';
import { CAPTURE_LIMIT, KafkaEventSink, startTap, type TapService } from '@tokenwatch/tap';
import { spawnCli, terminate } from '../helpers/cli.js';
import { isDefined, waitFor } from '../helpers/wait.js';
import { createTopic, readTopic, testKafka } from '../helpers/kafka.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
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
/** The request headers the provider received, per request. */
const providerRequests: IncomingMessage['headers'][] = [];

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
    providerRequests.push(req.headers);
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

/** Sends one request exactly as written (no client normalises its target) and reads the answer. */
function rawRequest(port: number, requestLine: string, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const head = [requestLine, 'Host: tap.test', 'Connection: close', 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${Buffer.byteLength(body)}`];
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

async function startStub(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('tokenwatch tap is no open proxy', () => {
  const registry = createRegistry();
  const internalHits: string[] = [];
  let internal: Awaited<ReturnType<typeof startStub>>;
  let tap: TapService;

  beforeAll(async () => {
    // Another host the tap's network reaches: what an open proxy would hand out.
    internal = await startStub((req, res) => {
      internalHits.push(req.url ?? '');
      res.end('internal-secret');
    });
    tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(testEnv('tap-open', { KAFKA_BROKERS: '127.0.0.1:1' })), logger, registry });
  });

  afterAll(async () => {
    await tap?.close(200);
    await internal?.close();
  });

  it.each([
    ['an absolute-form target', (port: number) => `http://127.0.0.1:${port}/token`],
    ['a scheme-relative target', (port: number) => `//127.0.0.1:${port}/token`],
    ['a /\\host target', (port: number) => `/\\127.0.0.1:${port}/token`],
  ])('answers 400 to %s and never contacts the other host', async (_kind, target) => {
    const before = providerRequests.length;
    for (const method of ['POST', 'GET']) {
      const answer = await rawRequest(tap.port, `${method} ${target(internal.port)} HTTP/1.1`, method === 'POST' ? 'grant_type=client_credentials' : '');
      expect(answer.status).toBe(400);
      expect(answer.body).not.toContain('internal-secret');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('origin-form') });
    }
    expect(internalHits).toEqual([]);
    expect(providerRequests.length).toBe(before);
  });

  it('still forwards a path on the upstream, and counts what it refused', async () => {
    const answer = await rawRequest(tap.port, 'GET /.well-known/openid-configuration HTTP/1.1');
    expect(answer.status).toBe(200);
    expect(await metric(registry, 'tokenwatch_tap_requests_rejected_total', { reason: 'target_not_origin_form' })).toBe(6);
    expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'other' })).toBe(1);
    expect(await metric(registry, 'tokenwatch_tap_requests_total', { endpoint: 'token' })).toBeUndefined();
  });
});

describe('tokenwatch tap and forwarding headers', () => {
  const spoofed = { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9', 'x-real-ip': '203.0.113.9', 'true-client-ip': '203.0.113.9' };

  async function exchange(trustedProxies: string[]): Promise<{ seen: IncomingMessage['headers']; event: Record<string, unknown> }> {
    const env = testEnv('tap-xff');
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    const tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, registry: createRegistry(), trustedProxies });
    try {
      const before = providerRequests.length;
      const answer = await post(`${tap.url}/token`, { grant_type: 'client_credentials' }, { authorization: basicHeader(), ...spoofed });
      expect(answer.status).toBe(200);
      const [message] = await readTopic(env.TOKENWATCH_TOPIC as string, 1);
      return { seen: providerRequests[before] ?? {}, event: JSON.parse(message?.value ?? '{}') as Record<string, unknown> };
    } finally {
      await tap.close();
    }
  }

  it('drops an untrusted client\'s forwarding headers and names the peer to the IdP and in the event', async () => {
    const { seen, event } = await exchange([]);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.forwarded).toBeUndefined();
    expect(seen['x-real-ip']).toBeUndefined();
    expect(seen['true-client-ip']).toBeUndefined();
    expect(event.source_ip).toBe('127.0.0.1');
  });

  it('keeps a trusted proxy\'s forwarding headers, appends the peer, and reports the client behind the proxy', async () => {
    const { seen, event } = await exchange(['127.0.0.1']);
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.forwarded).toBe('for=203.0.113.9, for=127.0.0.1');
    expect(seen['x-real-ip']).toBe('203.0.113.9');
    expect(event.source_ip).toBe('203.0.113.9');
  });
});

describe('tokenwatch tap and replays forged with refused requests', () => {
  it('marks the claims of refused requests unverified; jti_replay ranks a replay seen only on them low, a replay of an accepted assertion high', async () => {
    const env = testEnv('tap-forged');
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    const tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, registry: createRegistry() });
    const clickhouse = await openTestStorage('tap-forged');
    try {
      // Anyone can write these: any client as sub, one jti, a signature of random bytes.
      const forgedJti = randomUUID();
      const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const forged = (client: string) =>
        `${b64({ alg: 'ES256', kid: KID, typ: 'JWT' })}.${b64({ iss: client, sub: client, aud: tokenEndpoint, jti: forgedJti, iat: now, exp: now + 60 })}.${randomBytes(64).toString('base64url')}`;
      const form = (assertion: string) => ({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion });
      const forgedAnswers = [
        await post(`${tap.url}/token`, form(forged(JWT_CLIENT))),
        await post(`${tap.url}/token`, form(forged(JWT_CLIENT))),
        await post(`${tap.url}/token`, form(forged(BASIC_CLIENT))),
      ];
      expect(forgedAnswers.map((answer) => answer.status)).toEqual([401, 401, 401]);
      // A real replay through the tap: the client's accepted assertion, sent again.
      const assertion = await signAssertion();
      const legitJti = JSON.parse(Buffer.from(assertion.split('.')[1] as string, 'base64url').toString()).jti as string;
      expect((await post(`${tap.url}/token`, form(assertion))).status).toBe(200);
      expect((await post(`${tap.url}/token`, form(assertion))).status).toBe(401);

      const events = (await readTopic(env.TOKENWATCH_TOPIC as string, 5)).map((message) => JSON.parse(message.value) as TokenRequestInput);
      expect(events).toHaveLength(5);
      const byJti = (jti: string) => events.filter((event) => event.assertion?.jti === jti);
      expect(byJti(forgedJti).map((event) => [event.client_id, event.outcome, event.assertion_unverified])).toEqual([
        [JWT_CLIENT, 'failure', true],
        [JWT_CLIENT, 'failure', true],
        [BASIC_CLIENT, 'failure', true],
      ]);
      expect(byJti(legitJti).map((event) => [event.outcome, event.assertion_unverified])).toEqual([
        ['success', undefined],
        ['failure', true],
      ]);

      await storeEvents(clickhouse, events);
      const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger };
      const { raised } = await runTick(context, jtiReplay, Date.now() + 1_000);
      const found = (key: string) => raised.filter((alert) => alert.alert_key === key).map((alert) => [alert.finding, alert.client_id, alert.severity]);
      expect(found(forgedJti).sort()).toEqual([
        ['jti_cross_client', JWT_CLIENT, 'low'],
        ['jti_replay', JWT_CLIENT, 'low'],
      ]);
      expect(found(legitJti)).toEqual([['jti_replay', JWT_CLIENT, 'high']]);
      expect(raised.find((alert) => alert.alert_key === forgedJti && alert.finding === 'jti_replay')?.summary).toContain('may be forged');
    } finally {
      await tap.close();
      await clickhouse.close();
    }
  });
});

describe('tokenwatch tap bounds what its upstream sends back', () => {
  it('relays a decompression bomb unchanged and reads no more of it than the capture limit', async () => {
    // An error answer that parses as JSON only once 48 MiB of padding are inflated: the event
    // shows whether the tap inflated it all (replay reported) or stopped at the limit.
    const text = `{"error":"invalid_client","error_description":"client assertion tokens must only be used once"}${' '.repeat(48 * 1024 * 1024)}`;
    const bomb = gzipSync(text, { level: 9 });
    expect(bomb.length).toBeLessThan(CAPTURE_LIMIT);
    const stub = await startStub((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(401, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length });
        res.end(bomb);
      });
    });
    const env = testEnv('tap-bomb');
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    const tap = await startTap({ upstream: `http://127.0.0.1:${stub.port}/token`, settings: settingsFrom(env), logger, registry: createRegistry() });
    try {
      const relayed = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = httpRequest(`${tap.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicHeader() } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end('grant_type=client_credentials');
      });
      expect(relayed.status).toBe(401);
      expect(relayed.body.equals(bomb)).toBe(true);
      const [message] = await readTopic(env.TOKENWATCH_TOPIC as string, 1);
      const event = JSON.parse(message?.value ?? '{}') as Record<string, unknown>;
      expect(event).toMatchObject({ outcome: 'failure', client_id: BASIC_CLIENT });
      expect(event.error_code).toBeUndefined();
      expect(event.replay_reported).toBeUndefined();
    } finally {
      await tap.close();
      await stub.close();
    }
  });

  it('answers 504 when the upstream does not answer in time, and reports nothing', async () => {
    let arrived = 0;
    const stub = await startStub(() => {
      arrived += 1; // and never answers
    });
    const registry = createRegistry();
    const env = testEnv('tap-hang', { KAFKA_BROKERS: '127.0.0.1:1' });
    const tap = await startTap({ upstream: `http://127.0.0.1:${stub.port}/token`, settings: settingsFrom(env), logger, registry, limits: { exchangeTimeoutMs: 1_000 } });
    try {
      const started = Date.now();
      const answer = await post(`${tap.url}/token`, { grant_type: 'client_credentials' }, { authorization: basicHeader() });
      const elapsed = Date.now() - started;
      expect(arrived).toBe(1);
      expect(answer.status).toBe(504);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'temporarily_unavailable', error_description: expect.stringContaining('did not answer within 1000 ms') });
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(15_000);
      expect(await metric(registry, 'tokenwatch_tap_upstream_errors_total')).toBe(1);
      expect(tap.stats()).toMatchObject({ queued: 0, produced: 0, dropped: 0 });
    } finally {
      await tap.close(200);
      await stub.close();
    }
  });

  it('answers 413 to a request body beyond its limit without forwarding it', async () => {
    let arrived = 0;
    const stub = await startStub((req, res) => {
      arrived += 1;
      req.resume();
      res.end('{}');
    });
    const registry = createRegistry();
    const env = testEnv('tap-body', { KAFKA_BROKERS: '127.0.0.1:1' });
    const tap = await startTap({ upstream: `http://127.0.0.1:${stub.port}/token`, settings: settingsFrom(env), logger, registry, limits: { maxRequestBytes: 1_024 } });
    try {
      const answer = await rawRequest(tap.port, 'POST /token HTTP/1.1', `grant_type=client_credentials&padding=${'x'.repeat(4_096)}`);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error_description).toContain('1024 bytes');
      expect(arrived).toBe(0);
      expect(await metric(registry, 'tokenwatch_tap_requests_rejected_total', { reason: 'body_too_large' })).toBe(1);
    } finally {
      await tap.close(200);
      await stub.close();
    }
  });
});

describe('tokenwatch tap limits its connections', () => {
  it('closes connections beyond its limit at once and counts them; the open one keeps working', async () => {
    const registry = createRegistry();
    const env = testEnv('tap-conns', { KAFKA_BROKERS: '127.0.0.1:1' });
    const tap = await startTap({ upstream: tokenEndpoint, settings: settingsFrom(env), logger, registry, limits: { maxConnections: 1 } });
    // Accepted in the order they were opened: the first is in, the second over the limit.
    const first = connect(tap.port, '127.0.0.1');
    const second = connect(tap.port, '127.0.0.1');
    let secondClosed = false;
    second.on('close', () => (secondClosed = true)).on('error', () => undefined);
    try {
      const received: Buffer[] = [];
      first.on('data', (chunk: Buffer) => received.push(chunk));
      first.write('GET /.well-known/openid-configuration HTTP/1.1\r\nHost: tap.test\r\n\r\n');
      await waitFor(async () => (Buffer.concat(received).toString().startsWith('HTTP/1.1 200') ? true : undefined), isDefined, { timeoutMs: 10_000, what: 'the first answer' });
      second.write('GET /.well-known/openid-configuration HTTP/1.1\r\nHost: tap.test\r\n\r\n');
      await waitFor(async () => (secondClosed ? true : undefined), isDefined, { timeoutMs: 10_000, what: 'the second connection to be closed' });
      expect(await metric(registry, 'tokenwatch_tap_requests_rejected_total', { reason: 'connection_limit' })).toBe(1);
      received.length = 0;
      first.write('GET /.well-known/openid-configuration HTTP/1.1\r\nHost: tap.test\r\n\r\n');
      await waitFor(async () => (Buffer.concat(received).toString().startsWith('HTTP/1.1 200') ? true : undefined), isDefined, { timeoutMs: 10_000, what: 'the second answer on the first connection' });
    } finally {
      first.destroy();
      second.destroy();
      await tap.close(200);
    }
  });
});

describe('tokenwatch tap publishing to Kafka', () => {
  const sinkFor = (topic: string, registry = createRegistry()) =>
    new KafkaEventSink({ settings: settingsFrom(testEnv('tap-sink')), logger, metrics: createTapMetrics(registry), topic, capacity: 10_000 });

  it('sends batches bounded in bytes: 600 events of 4 KiB reach a topic with the broker\'s 1 MB limit', async () => {
    const topic = testEnv('tap-sink-bytes').TOKENWATCH_TOPIC as string;
    await createTopic(topic, 1);
    const sink = sinkFor(topic);
    for (let i = 0; i < 600; i++) sink.push({ key: `k${i}`, value: JSON.stringify({ i, padding: 'p'.repeat(4_096) }) });
    sink.start();
    try {
      await waitFor(async () => (sink.stats().produced === 600 ? true : undefined), isDefined, { timeoutMs: 60_000, what: '600 events produced' });
      expect(sink.stats()).toMatchObject({ produced: 600, dropped: 0, sendErrors: 0 });
    } finally {
      await sink.close(1_000);
    }
  });

  it('drops and counts an event the topic refuses as too large, and delivers the rest', async () => {
    const topic = testEnv('tap-sink-large').TOKENWATCH_TOPIC as string;
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const registry = createRegistry();
    const sink = sinkFor(topic, registry);
    sink.push({ key: 'huge', value: JSON.stringify({ padding: 'h'.repeat(30_000) }) });
    for (let i = 0; i < 40; i++) sink.push({ key: `k${i}`, value: JSON.stringify({ i, padding: 'p'.repeat(1_000) }) });
    sink.start();
    try {
      await waitFor(async () => (sink.stats().produced === 40 ? true : undefined), isDefined, { timeoutMs: 60_000, what: '40 events produced' });
      expect(sink.stats()).toMatchObject({ produced: 40, dropped: 1, queued: 0 });
      expect(await metric(registry, 'tokenwatch_tap_events_dropped_total')).toBe(1);
      const messages = await readTopic(topic, 40);
      expect(messages).toHaveLength(40);
      expect(messages.some((message) => message.value.includes('hhhh'))).toBe(false);
    } finally {
      await sink.close(1_000);
    }
  });
});

describe('tokenwatch tap serves its metrics', () => {
  it('serves /healthz and the tap\'s Prometheus metrics on --ops-listen', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const opsPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));

    const env = testEnv('tap-ops', { KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent' });
    const child = spawnCli(['tap', '--upstream', tokenEndpoint, '--listen', '127.0.0.1:0', '--ops-listen', `127.0.0.1:${opsPort}`], env);
    try {
      const ops = `http://127.0.0.1:${opsPort}`;
      const health = await waitFor(async () => {
        const response = await fetch(`${ops}/healthz`);
        return response.status === 200 ? response : undefined;
      }, isDefined, { timeoutMs: 30_000, what: 'the tap\'s /healthz' });
      expect(await health.json()).toEqual({ status: 'ok' });
      const metrics = await fetch(`${ops}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('tokenwatch_tap_queue_capacity 10000');
      expect(text).toContain('# TYPE tokenwatch_tap_requests_total counter');
      expect(text).toContain('# TYPE tokenwatch_tap_requests_rejected_total counter');
    } finally {
      expect(await terminate(child)).toBe(0);
    }
  });
});
