import { createHmac, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, DependencyError, errorMessage } from '@tokenwatch/shared/errors';

/**
 * A machine client of Keycloak's demo realm (infra/keycloak/realm-demo.json, started by
 * `npm run keycloak:start`): real client_credentials requests, with every token-endpoint auth
 * method the realm offers, and the requests an attacker with a stolen credential can make.
 * Used by `tokenwatch demo --idp keycloak` and by the tests against the real server.
 *
 * Assertions are signed here with node:crypto (ES256 for private_key_jwt with the demo realm's
 * published key, HS256 for client_secret_jwt), so nothing beyond Node is needed.
 */

export const DEFAULT_KEYCLOAK_URL = 'http://127.0.0.1:8080';
export const DEMO_REALM = 'demo';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const INFRA = new URL('../../../../infra/keycloak/', import.meta.url);
export const DEMO_REALM_FILE = fileURLToPath(new URL('realm-demo.json', INFRA));
export const DEMO_PRIVATE_KEY_FILE = fileURLToPath(new URL('svc-jwt.demo-private.jwk.json', INFRA));
/** Where keycloak.sh writes the server's JSON console log. */
export const DEFAULT_KEYCLOAK_LOG = fileURLToPath(new URL('.cache/keycloak.log', INFRA));

/** Time to wait for one token answer: a loaded dev server is slow, a hung one must not hang us. */
const REQUEST_TIMEOUT_MS = 15_000;

const realmFileSchema = z.object({
  realm: z.string().min(1),
  clients: z.array(
    z.object({
      clientId: z.string().min(1),
      clientAuthenticatorType: z.string().optional(),
      enabled: z.boolean().optional(),
      secret: z.string().optional(),
    }),
  ),
});

const privateJwkSchema = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string(), kid: z.string() });

/** What the token endpoint answered; never the token itself. */
export interface TokenAnswer {
  readonly status: number;
  /** The OAuth `error`, absent on success. */
  readonly error?: string;
  readonly issued: boolean;
}

export interface RequestOptions {
  /** Sent as X-Forwarded-For: Keycloak trusts it from loopback (keycloak.sh), so it is the address Keycloak logs. */
  readonly forwardedFor?: string;
}

export interface AssertionClaims {
  readonly audience?: string;
  /** Seconds before now the assertion says it was issued. */
  readonly issuedAgo?: number;
  readonly expiresIn?: number;
  readonly jti?: string;
}

/** A signed client assertion and the jti it carries. */
export interface SignedAssertion {
  readonly jwt: string;
  readonly jti: string;
}

export class KeycloakDemoRealm {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly realm: string;
  private readonly secrets: ReadonlyMap<string, string>;
  private readonly signingKey: { readonly key: KeyObject; readonly kid: string };

  /**
   * `baseUrl` is Keycloak's (the issuer, so assertions' audience); `via` a proxy in front of it
   * (the assertion tap) that requests go through instead, with the same path.
   */
  constructor(baseUrl: string = DEFAULT_KEYCLOAK_URL, { realmFile = DEMO_REALM_FILE, privateKeyFile = DEMO_PRIVATE_KEY_FILE, via }: { realmFile?: string; privateKeyFile?: string; via?: string } = {}) {
    const realm = readJson(realmFile, realmFileSchema);
    const jwk = readJson(privateKeyFile, privateJwkSchema);
    const realmPath = `/realms/${encodeURIComponent(realm.realm)}`;
    this.realm = realm.realm;
    this.issuer = `${baseUrl.replace(/\/+$/, '')}${realmPath}`;
    this.tokenEndpoint = `${(via ?? baseUrl).replace(/\/+$/, '')}${realmPath}/protocol/openid-connect/token`;
    this.secrets = new Map(realm.clients.flatMap((client) => (client.secret ? [[client.clientId, client.secret] as const] : [])));
    this.signingKey = { key: createPrivateKey({ key: jwk, format: 'jwk' }), kid: jwk.kid };
  }

  /** The realm's secret of a client (client-secret and client-secret-jwt clients). */
  secretOf(clientId: string): string {
    const secret = this.secrets.get(clientId);
    if (secret === undefined) throw new ConfigError(`the demo realm has no secret for client ${clientId}`);
    return secret;
  }

  /** Every credential the realm file holds: what must never reach storage, logs or dead letters. */
  realmSecrets(): string[] {
    return [...this.secrets.values()];
  }

  /** Throws a DependencyError naming the fix when the realm does not answer. */
  async ensureRunning(): Promise<void> {
    const discovery = `${this.issuer}/.well-known/openid-configuration`;
    try {
      const response = await fetch(discovery, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return;
      throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      throw new DependencyError(
        `Keycloak's ${this.realm} realm does not answer at ${discovery} (${errorMessage(error)}): run \`npm run keycloak:start\` (or set KEYCLOAK_URL)`,
      );
    }
  }

  /** client_secret_basic: the client id and secret in an HTTP Basic header. */
  secretBasic(clientId: string, secret: string, options: RequestOptions = {}): Promise<TokenAnswer> {
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    return this.request({}, { ...options, authorization: `Basic ${basic}` });
  }

  /** client_secret_post: the client id and secret in the form. */
  secretPost(clientId: string, secret: string, options: RequestOptions = {}): Promise<TokenAnswer> {
    return this.request({ client_id: clientId, client_secret: secret }, options);
  }

  /** private_key_jwt or client_secret_jwt: a signed assertion in the form. */
  sendAssertion(clientId: string, assertion: SignedAssertion, options: RequestOptions = {}): Promise<TokenAnswer> {
    return this.request({ client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion.jwt }, options);
  }

  /** An ES256 assertion signed with the demo realm's key of svc-jwt (private_key_jwt). */
  privateKeyJwt(clientId: string, claims: AssertionClaims = {}): SignedAssertion {
    const header = { alg: 'ES256', kid: this.signingKey.kid, typ: 'JWT' };
    return this.signed(header, clientId, claims, (input) => sign('sha256', input, { key: this.signingKey.key, dsaEncoding: 'ieee-p1363' }));
  }

  /** An HS256 assertion keyed with `secret` (client_secret_jwt). */
  clientSecretJwt(clientId: string, secret: string, claims: AssertionClaims = {}): SignedAssertion {
    return this.signed({ alg: 'HS256', typ: 'JWT' }, clientId, claims, (input) => createHmac('sha256', secret).update(input).digest());
  }

  private signed(header: object, clientId: string, claims: AssertionClaims, signature: (input: Buffer) => Buffer): SignedAssertion {
    const now = Math.floor(Date.now() / 1000) - (claims.issuedAgo ?? 0);
    const jti = claims.jti ?? randomUUID();
    const payload = { iss: clientId, sub: clientId, aud: claims.audience ?? this.issuer, jti, iat: now, exp: now + (claims.expiresIn ?? 60) };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    return { jwt: `${input}.${signature(Buffer.from(input)).toString('base64url')}`, jti };
  }

  private async request(form: Record<string, string>, { forwardedFor, authorization }: RequestOptions & { authorization?: string }): Promise<TokenAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (authorization) headers.authorization = authorization;
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    const response = await fetch(this.tokenEndpoint, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = z.object({ error: z.string().optional(), access_token: z.string().optional() }).catch({}).parse(await response.json().catch(() => ({})));
    // The token is dropped here: nobody downstream needs it, and it is a secret.
    return { status: response.status, issued: body.access_token !== undefined, ...(body.error === undefined ? {} : { error: body.error }) };
  }
}

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

function readJson<T>(path: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not JSON: ${errorMessage(error)}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new ConfigError(`${path} is not what keycloak.sh expects: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}
