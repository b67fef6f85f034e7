import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpUnreachable, OidcSignIn, type OidcSignInOptions } from '@tokenwatch/console/auth/oidc';
import { PendingSignIns } from '@tokenwatch/console/auth/pending-sign-ins';
import { loadSettings } from '@tokenwatch/shared/config/settings';
import { ConfigError } from '@tokenwatch/shared/errors';
import { createLogger } from '@tokenwatch/shared/log';

/**
 * The ID token checks of console sign-in, against a small IdP served here: its discovery
 * document, its JWKS, and a token endpoint that answers each code with the ID token the test
 * signed (jose), so a token for another audience, nonce, issuer or key can be tried. The real
 * flow against the real Keycloak is test/integration/console-oidc.test.ts.
 */

const CLIENT_ID = 'tokenwatch-console';
const CLIENT_SECRET = 'the-console-client-secret';

interface LocalIdp {
  readonly issuer: string;
  /** The claims (and key) of the next ID token; `nonce` defaults to the one the authorization request carried. */
  nextToken: { claims?: Partial<JWTPayload> & Record<string, unknown>; key?: CryptoKey; nonce?: string };
  /** The token requests' Authorization headers. */
  readonly authorizations: string[];
  /** Overrides the discovery document's body (an oversized or broken IdP). */
  discoveryBody?: string;
}

let server: Server;
let idp: LocalIdp;
let idpKey: CryptoKey;
let strangerKey: CryptoKey;
const noncesByCode = new Map<string, string>();

async function formOf(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  idpKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key', alg: 'ES256', use: 'sig' };
  server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', idp.issuer);
      if (url.pathname.endsWith('/.well-known/openid-configuration')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          idp.discoveryBody ??
            JSON.stringify({
              issuer: idp.issuer,
              authorization_endpoint: `${idp.issuer}/auth`,
              token_endpoint: `${idp.issuer}/token`,
              jwks_uri: `${idp.issuer}/jwks`,
              response_types_supported: ['code'],
              subject_types_supported: ['public'],
              id_token_signing_alg_values_supported: ['ES256'],
              code_challenge_methods_supported: ['S256'],
            }),
        );
        return;
      }
      if (url.pathname.endsWith('/jwks')) {
        response.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        response.end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      if (url.pathname.endsWith('/token') && request.method === 'POST') {
        idp.authorizations.push(request.headers.authorization ?? '');
        const form = await formOf(request);
        const { claims = {}, key = idpKey, nonce } = idp.nextToken;
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({ iss: idp.issuer, aud: CLIENT_ID, sub: 'f3a1-subject', iat: now, exp: now + 300, nonce: nonce ?? noncesByCode.get(form.get('code') ?? ''), preferred_username: 'alice', ...claims })
          .setProtectedHeader({ alg: 'ES256', kid: 'idp-key' })
          .sign(key);
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify({ access_token: 'an-access-token', token_type: 'Bearer', expires_in: 300, id_token: idToken }));
        return;
      }
      response.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  idp = { issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/test`, nextToken: {}, authorizations: [] };
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function signIn(overrides: Partial<OidcSignInOptions> = {}): OidcSignIn {
  return new OidcSignIn({
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUrl: () => 'http://127.0.0.1:9464/api/oidc/callback',
    users: ['alice'],
    groupClaim: 'groups',
    logger: createLogger('silent'),
    ...overrides,
  });
}

/** Starts a sign-in, and plays the IdP's redirect back with code `code`: the callback's query and the browser's state cookie. */
async function authorize(flow: OidcSignIn, code: string): Promise<{ query: URLSearchParams; state: string; url: URL }> {
  const { url, state } = await flow.begin(Date.now());
  noncesByCode.set(code, url.searchParams.get('nonce') ?? '');
  return { query: new URLSearchParams({ code, state }), state, url };
}

async function finishWith(token: LocalIdp['nextToken'], flow = signIn()) {
  idp.nextToken = token;
  const code = `code-${Math.random()}`;
  const { query, state } = await authorize(flow, code);
  return flow.finish(query, state, Date.now());
}

describe('console sign-in through an IdP (OpenID Connect)', () => {
  it('sends the browser to the authorization endpoint with PKCE (S256), state and nonce, and admits the user the ID token names', async () => {
    const flow = signIn();
    idp.nextToken = {};
    const { url, query, state } = await authorize(flow, 'code-1');
    expect(url.origin + url.pathname).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:9464/api/oidc/callback',
      code_challenge_method: 'S256',
      state,
      scope: 'openid profile email',
    });
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = idp.authorizations.length;
    expect(await flow.finish(query, state, Date.now())).toEqual({ ok: true, user: 'alice', subject: 'f3a1-subject' });
    // client_secret_basic: the secret rides in the Authorization header (each part form-encoded, RFC 6749 2.3.1), never in the form.
    const sent = idp.authorizations.slice(before).map((header) => {
      const [id, secret] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8').split(':').map(decodeURIComponent);
      return { id, secret };
    });
    expect(sent).toEqual([{ id: CLIENT_ID, secret: CLIENT_SECRET }]);
  });

  it('refuses a callback without state, with a state this browser did not start, and the same callback twice', async () => {
    const flow = signIn();
    idp.nextToken = {};
    const { query, state } = await authorize(flow, 'code-2');
    const missing = new URLSearchParams({ code: 'code-2' });
    expect(await flow.finish(missing, state, Date.now())).toMatchObject({ ok: false, status: 400 });
    expect(await flow.finish(query, undefined, Date.now())).toMatchObject({ ok: false, status: 400, reason: expect.stringMatching(/not started in this browser/) });
    const other = await authorize(flow, 'code-3');
    expect(await flow.finish(query, other.state, Date.now())).toMatchObject({ ok: false, status: 400 });
    expect(await flow.finish(query, state, Date.now())).toMatchObject({ ok: true, user: 'alice' });
    expect(await flow.finish(query, state, Date.now())).toMatchObject({ ok: false, status: 400, reason: expect.stringMatching(/expired or was already used/) });
  });

  it('refuses an ID token for another audience, nonce or issuer, an expired one, and one signed with a key not in the JWKS', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await finishWith({ claims: { aud: 'another-client' } })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/aud/) });
    expect(await finishWith({ nonce: 'a-nonce-of-another-sign-in' })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/nonce/) });
    expect(await finishWith({ claims: { iss: 'http://127.0.0.1:1/realms/evil' } })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/iss/) });
    expect(await finishWith({ claims: { iat: now - 900, exp: now - 600 } })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/exp/) });
    expect(await finishWith({ key: strangerKey })).toMatchObject({ ok: false, status: 401, reason: expect.stringMatching(/signature/i) });
  });

  it('admits the allow-listed users and the members of the group, and no one else', async () => {
    expect(await finishWith({ claims: { preferred_username: 'mallory' } })).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/^mallory may not use this console/) });
    const byGroup = signIn({ users: undefined, group: 'oncall' });
    expect(await finishWith({ claims: { preferred_username: 'bob', groups: ['staff', 'oncall'] } }, byGroup)).toMatchObject({ ok: true, user: 'bob' });
    expect(await finishWith({ claims: { preferred_username: 'bob', groups: ['staff'] } }, byGroup)).toMatchObject({ ok: false, status: 403 });
    const byRole = signIn({ users: undefined, group: 'Console.Operator', groupClaim: 'roles' });
    expect(await finishWith({ claims: { preferred_username: 'carol@example.com', roles: 'Console.Operator' } }, byRole)).toMatchObject({ ok: true, user: 'carol@example.com' });
    // Without preferred_username, a verified email names the person; an unverified one does not.
    const byEmail = signIn({ users: ['dave@example.com'] });
    expect(await finishWith({ claims: { preferred_username: undefined, email: 'dave@example.com', email_verified: true } }, byEmail)).toMatchObject({ ok: true, user: 'dave@example.com' });
    expect(await finishWith({ claims: { preferred_username: undefined, email: 'dave@example.com', email_verified: false } }, byEmail)).toMatchObject({ ok: false, status: 403, reason: expect.stringMatching(/no usable user name/) });
  });

  it("shows the IdP's error code from the callback, never free text from the address bar", async () => {
    const flow = signIn();
    const { state } = await authorize(flow, 'code-4');
    expect(await flow.finish(new URLSearchParams({ state, error: 'access_denied' }), state, Date.now())).toEqual({ ok: false, status: 401, reason: 'the IdP did not sign you in (access_denied)' });
    const next = await authorize(flow, 'code-5');
    expect(await flow.finish(new URLSearchParams({ state: next.state, error: '<script>alert(1)</script>' }), next.state, Date.now())).toEqual({ ok: false, status: 401, reason: 'the IdP did not sign you in (an unreadable error)' });
  });

  it('says so, without crashing, when the IdP does not answer or answers too much', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gone = signIn({ issuer: `http://127.0.0.1:${port}/realms/gone` });
    await expect(gone.begin(Date.now())).rejects.toThrow(IdpUnreachable);
    await expect(gone.begin(Date.now())).rejects.toThrow(new RegExp(`cannot reach the IdP at http://127.0.0.1:${port}/realms/gone \\(fetch failed: .*ECONNREFUSED`));
    idp.discoveryBody = JSON.stringify({ issuer: idp.issuer, padding: 'x'.repeat(300 * 1024) });
    try {
      await expect(signIn().begin(Date.now())).rejects.toThrow(/answered with .*bytes/);
    } finally {
      idp.discoveryBody = undefined;
    }
  });

  it('keeps a bounded number of pending sign-ins, each for a while and once', () => {
    const pending = new PendingSignIns(2);
    const entry = (expires: number) => ({ nonce: 'n', codeVerifier: 'v', expires });
    pending.add('a', entry(100), 0);
    pending.add('b', entry(100), 0);
    pending.add('c', entry(100), 0);
    expect(pending.size).toBe(2);
    expect(pending.take('a', 1)).toBeUndefined(); // the oldest made room
    expect(pending.take('b', 100)).toBeUndefined(); // expired
    expect(pending.take('c', 1)).toMatchObject({ nonce: 'n' });
    expect(pending.take('c', 1)).toBeUndefined(); // once
  });
});

describe('console OIDC settings', () => {
  const issuer = 'https://login.example.com/realms/acme';
  function refusal(env: Record<string, string>): string {
    try {
      loadSettings(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  }

  it('stop start-up with one line naming what is missing or wrong', () => {
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_ISSUER: issuer })).toMatch(/^invalid setting TOKENWATCH_CONSOLE_OIDC_ISSUER: it needs TOKENWATCH_CONSOLE_OIDC_CLIENT_ID/);
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_ISSUER: issuer, TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: 'c' })).toMatch(/it needs TOKENWATCH_CONSOLE_OIDC_USERS or TOKENWATCH_CONSOLE_OIDC_GROUP \(who may sign in\)/);
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: 'c' })).toBe('invalid setting TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: it needs TOKENWATCH_CONSOLE_OIDC_ISSUER (the IdP to sign in with)');
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_ISSUER: 'http://login.example.com/realms/acme' })).toMatch(/^invalid setting TOKENWATCH_CONSOLE_OIDC_ISSUER: expected https:\/\//);
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_ISSUER: issuer, TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: 'c', TOKENWATCH_CONSOLE_OIDC_USERS: 'alice', TOKENWATCH_HTTP_HOST: '0.0.0.0' })).toMatch(
      /^invalid setting TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: required when TOKENWATCH_HTTP_HOST is 0.0.0.0/,
    );
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: 'https://console.example.com/tokenwatch/api/oidc/callback' })).toMatch(/^invalid setting TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: expected a URL whose path is \/api\/oidc\/callback/);
    // The secret is never echoed, even when refused.
    expect(refusal({ TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET: '' + 'x'.repeat(2_000) })).not.toMatch(/xxxx/);
  });

  it('accept a complete configuration, and http for a loopback issuer only', () => {
    const settings = loadSettings({
      TOKENWATCH_CONSOLE_OIDC_ISSUER: 'http://127.0.0.1:8080/realms/demo',
      TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: 'tokenwatch-console',
      TOKENWATCH_CONSOLE_OIDC_USERS: 'alice, bob@example.com',
    });
    expect(settings).toMatchObject({ TOKENWATCH_CONSOLE_OIDC_USERS: ['alice', 'bob@example.com'], TOKENWATCH_CONSOLE_OIDC_GROUP_CLAIM: 'groups' });
  });
});
