import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { terminate } from '../helpers/cli.js';
import { KEYCLOAK_URL, requireKeycloak } from '../helpers/keycloak.js';
import { KeycloakAdmin, type RealmPerson } from '../helpers/keycloak-admin.js';
import { freePort } from '../helpers/net.js';
import { seedWatchedCredentialAlert, startService, type StartedService } from '../helpers/service.js';

// Console sign-in through the team's IdP: the real Keycloak's demo realm, a client and two people
// of this test's own (made with the admin API, removed after), a real `tokenwatch start` and a
// real headless Chromium. The console is at 127.0.0.1 and Keycloak is reached as localhost: two
// sites, as a console and its IdP are, so the browser applies its cross-site cookie rules.

const SIGN_IN_SCREENSHOT = fileURLToPath(new URL('../../docs/console/sign-in-idp.png', import.meta.url));

/** Keycloak as the browser and tokenwatch reach it: localhost when it runs on loopback (another site than 127.0.0.1). */
const IDP_URL = KEYCLOAK_URL.replace('//127.0.0.1:', '//localhost:');

describe('console sign-in through the real Keycloak (OpenID Connect)', () => {
  const suffix = randomBytes(4).toString('hex');
  let admin: KeycloakAdmin;
  let oncall: RealmPerson;
  let outsider: RealmPerson;
  let env: Record<string, string>;
  let service: StartedService;
  let base = '';
  let browser: Browser;
  /** The URLs the IdP sent the browser back to, as the browser requested them. */
  const callbacks: string[] = [];

  const cli = (args: string[]) => service.cli(args);

  beforeAll(async () => {
    const realm = await requireKeycloak();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    admin = await KeycloakAdmin.signIn(IDP_URL, realm.realm);
    const client = await admin.createWebClient(`tokenwatch-console-${suffix}`, `${base}/api/oidc/callback`);
    const group = `tokenwatch-oncall-${suffix}`;
    oncall = await admin.createPerson(`oncall-${suffix}`, await admin.createGroup(group));
    outsider = await admin.createPerson(`outsider-${suffix}`);

    service = await startService('console-oidc', {
      port,
      settings: {
        TOKENWATCH_CONSOLE_OIDC_ISSUER: `${IDP_URL}/realms/${realm.realm}`,
        TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: client.clientId,
        TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET: client.secret,
        TOKENWATCH_CONSOLE_OIDC_GROUP: group,
        LOG_LEVEL: 'info',
      },
    });
    ({ env } = service);
    // An alert to acknowledge: a watched client's request is a critical watched_credential alert.
    await seedWatchedCredentialAlert(service, 'secret in a public gist (INC-15)');
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (service) expect(await terminate(service.process, 'SIGTERM')).toBe(0);
    await admin?.cleanUp();
  });

  /** Opens the console in a new browser context, clicks the SSO button and signs in at Keycloak's form. */
  async function signInThroughKeycloak(person: RealmPerson) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('request', (request) => {
      if (request.url().startsWith(`${base}/api/oidc/callback`)) callbacks.push(request.url());
    });
    await page.goto(`${base}/`);
    const button = page.getByRole('link', { name: `Sign in with ${new URL(IDP_URL).host}` });
    await button.waitFor();
    await page.screenshot({ path: SIGN_IN_SCREENSHOT });
    await button.click();
    await page.waitForURL((url) => url.origin === new URL(IDP_URL).origin);
    await page.locator('#username').fill(person.username);
    await page.locator('#password').fill(person.password);
    await page.locator('#kc-login').click();
    return { context, page };
  }

  it('signs a member of the group in: the SSO button, Keycloak\'s form, the feed; an acknowledgement records who', async () => {
    const { context, page } = await signInThroughKeycloak(oncall);
    try {
      await page.getByRole('heading', { name: 'Alerts' }).waitFor();
      expect(page.url()).toBe(`${base}/`);
      await expect.poll(() => page.locator('.user').textContent()).toContain(oncall.username);
      // The session cookie is the one the one-time link gives; the state cookie is gone.
      const cookies = await context.cookies(base);
      expect(cookies.map((cookie) => cookie.name)).toEqual(['tokenwatch_session']);
      expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

      const row = page.locator('table.feed tbody tr', { hasText: 'watched_credential' });
      await row.locator('a').click();
      await page.getByRole('heading', { name: /watched_credential/ }).waitFor();
      await page.locator('input[name=note]').fill('signed in through Keycloak');
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await expect.poll(() => page.locator('h1 .status').textContent(), { timeout: 20_000 }).toBe('acknowledged');
      expect(await page.locator('[data-triage]').textContent()).toMatch(new RegExp(`^ack by ${oncall.username} at .* UTC: signed in through Keycloak$`));
      const stored = (await cli(['alerts', '--json'])).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(stored.find((alert) => alert.finding === 'watched_credential')).toMatchObject({ status: 'acknowledged', triaged_by: oncall.username });
    } finally {
      await context.close();
    }
    // The log says who signed in (and Keycloak's subject), never the secret, a code or a token.
    const logs = service.process.logs();
    expect(logs).toContain('"msg":"console: sign-in through the IdP is ready"');
    expect(logs).toContain('"msg":"console: signed in through the IdP"');
    expect(logs).not.toContain(env.TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET);
    const code = new URL(callbacks[0] ?? base).searchParams.get('code');
    expect(code).toBeTruthy();
    expect(logs).not.toContain(code);
  });

  it('refuses a replayed callback, even with its state cookie, and a callback without or with a wrong state: 400, no session', async () => {
    const callback = callbacks[0];
    if (!callback) throw new Error('the sign-in test recorded no callback');
    const state = new URL(callback).searchParams.get('state') as string;
    const replay = await fetch(callback, { headers: { cookie: `tokenwatch_oidc_state=${state}` }, redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('this sign-in expired or was already used');
    expect(replay.headers.getSetCookie().join('\n')).not.toContain('tokenwatch_session=');

    const noState = await fetch(`${base}/api/oidc/callback?code=abc`, { redirect: 'manual' });
    expect(noState.status).toBe(400);
    // A page for the browser that came back, under the console's CSP like every other answer.
    expect(noState.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(noState.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
    expect(noState.headers.getSetCookie().join('\n')).not.toContain('tokenwatch_session=');
    // A sign-in started elsewhere (an attacker's own, whose callback link a victim is sent): its state is not this browser's.
    const started = await fetch(`${base}/api/oidc/login`, { redirect: 'manual' });
    expect(started.status).toBe(303);
    const location = new URL(started.headers.get('location') as string);
    expect(location.href.startsWith(`${IDP_URL}/realms/`)).toBe(true);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(started.headers.getSetCookie()[0]).toMatch(/^tokenwatch_oidc_state=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/api\/oidc\/; Max-Age=600$/);
    const foreign = await fetch(`${base}/api/oidc/callback?code=abc&state=${location.searchParams.get('state')}`, { headers: { cookie: `tokenwatch_oidc_state=${'A'.repeat(43)}` }, redirect: 'manual' });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('was not started in this browser');
    expect((await fetch(`${base}/api/session`)).status).toBe(401);
  });

  it('refuses a person Keycloak signs in who is not in the group: 403, and the page says why', async () => {
    const { context, page } = await signInThroughKeycloak(outsider);
    try {
      await page.getByRole('heading', { name: 'sign-in failed' }).waitFor();
      expect(await page.getByRole('alert').textContent()).toContain(`${outsider.username} may not use this console`);
      expect((await context.cookies(base)).map((cookie) => cookie.name)).not.toContain('tokenwatch_session');
      const answer = await page.request.get(`${base}/api/session`);
      expect(answer.status()).toBe(401);
    } finally {
      await context.close();
    }
  });
});
