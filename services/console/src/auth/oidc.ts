import { timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { isLoopbackHost } from '@tokenwatch/shared/config/settings';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { boundedFetch, IDP_TIMEOUT_MS, ResponseTooLarge, type BoundedFetch } from '../http/bounded-fetch.js';
import { userNameSchema } from './login-token.js';
import { PENDING_SIGN_IN_TTL_MS, PendingSignIns } from './pending-sign-ins.js';

/**
 * Console sign-in through the team's IdP: the OpenID Connect authorization code flow with PKCE
 * (S256), state and nonce. The protocol (discovery, the code exchange, the ID token's issuer,
 * audience, expiry, nonce and signature from the IdP's JWKS) is openid-client's, a certified
 * relying party library: hand-written JOSE is where sign-in bugs live. What is ours: binding
 * each sign-in to the browser that started it, who may sign in, and which name the audit shows.
 */

export interface OidcSignInOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** Unset: a public client, PKCE only. Set: client_secret_basic. Never logged. */
  readonly clientSecret?: string | undefined;
  /** The callback URL registered at the IdP: a function, since the ops server's port is known only once it listens. */
  readonly redirectUrl: () => string;
  /** User names that may sign in. */
  readonly users?: readonly string[] | undefined;
  /** A group (or role) whose members may sign in, read from the ID token's `groupClaim`. */
  readonly group?: string | undefined;
  readonly groupClaim: string;
  readonly logger: Logger;
  readonly fetch?: BoundedFetch;
}

export type SignInResult =
  | { readonly ok: true; readonly user: string; readonly subject: string }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 502; readonly reason: string };

/** The state of a sign-in: what the pending map and the browser's cookie hold (randomState's 256 bits, base64url). */
const stateSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/** The ID token claims that name the person; the library has checked the token before these are read. */
const identitySchema = z.object({
  sub: z.string().min(1).max(255),
  preferred_username: z.string().max(256).optional(),
  email: z.string().max(256).optional(),
  email_verified: z.boolean().optional(),
});
const groupsSchema = z.union([z.string().max(1_024), z.array(z.string().max(1_024)).max(10_000)]).optional();

/** What an IdP's `error` parameter may show on the page: it comes from the address bar, so only a short OAuth error code. */
const oauthErrorSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

export class IdpUnreachable extends Error {}

export class OidcSignIn {
  /** Shown on the sign-in page's button. */
  readonly issuerHost: string;
  private readonly pending = new PendingSignIns();
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly options: OidcSignInOptions) {
    this.issuerHost = new URL(options.issuer).host;
  }

  /** True when the callback is served over https (then its cookies are Secure). */
  get secure(): boolean {
    return this.options.redirectUrl().startsWith('https:');
  }

  /**
   * Reads the discovery document now, so a wrong issuer shows in the log at start-up rather
   * than at the first sign-in; it is not fatal (the IdP may be down while tokenwatch starts:
   * watching tokens matters more, and a one-time link still signs people in).
   */
  async check(): Promise<void> {
    await this.discover();
  }

  /** Starts a sign-in: the IdP's authorization URL to send the browser to, and the state to bind to that browser. */
  async begin(now: number): Promise<{ readonly url: URL; readonly state: string }> {
    const config = await this.discover();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    this.pending.add(state, { nonce, codeVerifier, expires: now + PENDING_SIGN_IN_TTL_MS }, now);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUrl(),
      response_type: 'code',
      scope: 'openid profile email',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url, state };
  }

  /**
   * Finishes a sign-in from the callback's query and the state cookie of the browser that
   * brought it. The pending sign-in is taken before anything else, so a callback works once.
   */
  async finish(query: URLSearchParams, cookieState: string | undefined, now: number): Promise<SignInResult> {
    const state = stateSchema.safeParse(query.get('state'));
    const bound = stateSchema.safeParse(cookieState);
    if (!state.success || !bound.success || !timingSafeEqual(Buffer.from(state.data), Buffer.from(bound.data))) {
      return { ok: false, status: 400, reason: 'this sign-in was not started in this browser, or its state is missing: start again from the sign-in page' };
    }
    const pending = this.pending.take(state.data, now);
    if (!pending) return { ok: false, status: 400, reason: 'this sign-in expired or was already used: start again from the sign-in page' };
    const idpError = query.get('error');
    if (idpError !== null) {
      const code = oauthErrorSchema.safeParse(idpError);
      return { ok: false, status: 401, reason: `the IdP did not sign you in (${code.success ? code.data : 'an unreadable error'})` };
    }

    let claims: oidc.IDToken | undefined;
    try {
      const config = await this.discover();
      // The registered callback URL with the query the IdP sent: the library sends that URL, less
      // the query, as redirect_uri (behind a proxy the request's own Host would be the wrong one).
      const currentUrl = new URL(this.options.redirectUrl());
      currentUrl.search = query.toString();
      const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        expectedState: state.data,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.codeVerifier,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (error) {
      if (error instanceof IdpUnreachable) return { ok: false, status: 502, reason: `${error.message}: try again later` };
      if (unreachable(error)) return { ok: false, status: 502, reason: `cannot reach the IdP at ${this.issuerHost} (${describe(error)}): try again later` };
      return { ok: false, status: 401, reason: `the IdP's answer was refused (${describe(error)})` };
    }
    if (!claims) return { ok: false, status: 401, reason: 'the IdP sent no ID token' };
    return this.admit(claims);
  }

  /** Fetches the IdP's discovery document once (again after a failure), with the JWKS checks on. */
  private discover(): Promise<oidc.Configuration> {
    this.configuration ??= this.fetchConfiguration().catch((error: unknown) => {
      this.configuration = undefined;
      throw new IdpUnreachable(`cannot reach the IdP at ${this.options.issuer} (${describe(error)})`);
    });
    return this.configuration;
  }

  private async fetchConfiguration(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret } = this.options;
    const insecure = new URL(issuer).protocol === 'http:' && isLoopbackHost(new URL(issuer).hostname);
    const config = await oidc.discovery(new URL(issuer), clientId, undefined, clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(clientSecret), {
      [oidc.customFetch]: this.options.fetch ?? boundedFetch(),
      timeout: IDP_TIMEOUT_MS / 1000,
      // The settings accept http only for a loopback issuer (a development IdP on this machine).
      execute: insecure ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks],
    });
    return config;
  }

  /** The person the ID token names, when the allow-list or the group admits them. */
  private admit(claims: oidc.IDToken): SignInResult {
    const identity = identitySchema.safeParse(claims);
    if (!identity.success) return { ok: false, status: 403, reason: 'the ID token names no subject' };
    const { sub, preferred_username: preferred, email, email_verified: emailVerified } = identity.data;
    // preferred_username is what the team knows the person by (and what `tokenwatch console --user`
    // would be given); a verified email is the fallback. sub, stable but opaque, goes to the log.
    const user = [preferred, emailVerified === true ? email : undefined].find((name) => name !== undefined && userNameSchema.safeParse(name).success);
    if (user === undefined) {
      return { ok: false, status: 403, reason: 'the ID token carries no usable user name (preferred_username, or a verified email, of letters, digits and . _ @ -)' };
    }
    const groups = groupsSchema.safeParse(claims[this.options.groupClaim]);
    const memberships = groups.success ? [groups.data ?? []].flat() : [];
    const listed = this.options.users?.includes(user) ?? false;
    const member = this.options.group !== undefined && memberships.includes(this.options.group);
    if (!listed && !member) {
      this.options.logger.warn({ user, subject: sub, issuer: this.issuerHost }, 'console: an IdP user who is not allowed tried to sign in');
      return { ok: false, status: 403, reason: `${user} may not use this console (TOKENWATCH_CONSOLE_OIDC_USERS and TOKENWATCH_CONSOLE_OIDC_GROUP decide who may)` };
    }
    this.options.logger.info({ user, subject: sub, issuer: this.issuerHost }, 'console: signed in through the IdP');
    return { ok: true, user, subject: sub };
  }
}

/** A network failure, a timeout or an oversized answer: the IdP's fault or the network's, not the user's. */
function unreachable(error: unknown): boolean {
  if (error instanceof ResponseTooLarge) return true;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return true;
  return error instanceof TypeError && error.message === 'fetch failed';
}

/** The error's message and its cause's (fetch hides ECONNREFUSED in the cause). Never a token: the library's messages name checks, not values. */
function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  // The token endpoint's OAuth error code (invalid_grant: a used or expired code), when it sent one.
  const code = oauthErrorSchema.safeParse((error as { error?: unknown } | null)?.error);
  return `${errorMessage(error)}${cause}${code.success ? ` (${code.data})` : ''}`.slice(0, 300);
}
