import { randomBytes } from 'node:crypto';

/**
 * Keycloak's admin REST API, for tests that need a client or a person of their own in the demo
 * realm: what they create has a random suffix and is deleted afterwards, so tests sharing one
 * server never see each other's, and nothing depends on the realm file's state or a restart.
 * Admin: admin/admin unless KEYCLOAK_ADMIN / KEYCLOAK_ADMIN_PASSWORD (as keycloak.sh).
 */

const TIMEOUT_MS = 15_000;

export interface RealmPerson {
  readonly username: string;
  readonly password: string;
}

export class KeycloakAdmin {
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(
    private readonly baseUrl: string,
    private readonly realm: string,
    private token: string,
  ) {}

  static async signIn(baseUrl: string, realm: string): Promise<KeycloakAdmin> {
    return new KeycloakAdmin(baseUrl, realm, await KeycloakAdmin.adminToken(baseUrl));
  }

  /** An admin access token: it lives a minute (admin-cli's default), so cleanUp takes a new one. */
  private static async adminToken(baseUrl: string): Promise<string> {
    const response = await fetch(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: process.env.KEYCLOAK_ADMIN ?? 'admin',
        password: process.env.KEYCLOAK_ADMIN_PASSWORD ?? 'admin',
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`Keycloak's admin sign-in answered ${response.status}: ${await response.text()}`);
    const { access_token: token } = (await response.json()) as { access_token?: unknown };
    if (typeof token !== 'string') throw new Error("Keycloak's admin sign-in answered without an access_token");
    return token;
  }

  /** A confidential client for the authorization code flow, whose ID tokens carry `groups` (names, not paths). */
  async createWebClient(clientId: string, redirectUri: string): Promise<{ readonly clientId: string; readonly secret: string }> {
    const secret = randomBytes(24).toString('base64url');
    const id = await this.create('/clients', {
      clientId,
      protocol: 'openid-connect',
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      secret,
      standardFlowEnabled: true,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: false,
      redirectUris: [redirectUri],
      attributes: { 'pkce.code.challenge.method': 'S256' },
      protocolMappers: [
        {
          name: 'groups',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-group-membership-mapper',
          config: { 'claim.name': 'groups', 'full.path': 'false', 'id.token.claim': 'true', 'access.token.claim': 'false', 'userinfo.token.claim': 'false' },
        },
      ],
    });
    this.cleanups.push(() => this.remove(`/clients/${id}`));
    return { clientId, secret };
  }

  async createGroup(name: string): Promise<string> {
    const id = await this.create('/groups', { name });
    this.cleanups.push(() => this.remove(`/groups/${id}`));
    return id;
  }

  /** A person with a password, a verified email and a full name (so Keycloak asks for nothing more), in `groupId` when given. */
  async createPerson(username: string, groupId?: string): Promise<RealmPerson> {
    const password = randomBytes(18).toString('base64url');
    const id = await this.create('/users', {
      username,
      enabled: true,
      email: `${username}@example.com`,
      emailVerified: true,
      firstName: 'Test',
      lastName: username,
      requiredActions: [],
      credentials: [{ type: 'password', value: password, temporary: false }],
    });
    this.cleanups.push(() => this.remove(`/users/${id}`));
    if (groupId) await this.call('PUT', `/users/${id}/groups/${groupId}`);
    return { username, password };
  }

  /** Deletes what this admin created, newest first. */
  async cleanUp(): Promise<void> {
    this.token = await KeycloakAdmin.adminToken(this.baseUrl);
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
  }

  private async create(path: string, body: object): Promise<string> {
    const response = await this.call('POST', path, body);
    const id = response.headers.get('location')?.split('/').pop();
    if (!id) throw new Error(`Keycloak created ${path} without a Location`);
    return id;
  }

  private async remove(path: string): Promise<void> {
    await this.call('DELETE', path);
  }

  private async call(method: string, path: string, body?: object): Promise<Response> {
    const response = await fetch(`${this.baseUrl}/admin/realms/${encodeURIComponent(this.realm)}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`Keycloak's admin API answered ${method} ${path} with ${response.status}: ${await response.text()}`);
    return response;
  }
}
