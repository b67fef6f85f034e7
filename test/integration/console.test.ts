import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { runCli, terminate } from '../helpers/cli.js';
import { seedWatchedCredentialAlert, startService, type StartedService } from '../helpers/service.js';

// The on-call console served by `tokenwatch start`, in a real headless Chromium: sign in with
// the link `tokenwatch console` prints, see the feed, open an alert; and its API refusing
// requests without a session, with a used link, without or with a wrong CSRF token, and from
// another origin. The screenshots are the ones docs/console.md shows.

const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));

describe('the console of tokenwatch start', () => {
  let env: Record<string, string>;
  let service: StartedService;
  let base = '';
  let browser: Browser;

  const cli = (args: string[]) => service.cli(args);

  /** A fresh sign-in link for `user`, as an operator gets it. */
  const link = async (user: string) => (await cli(['console', '--user', user])).stdout.trim();

  beforeAll(async () => {
    service = await startService('console');
    ({ env, base } = service);
    // An alert to look at: a watched client's request is a critical watched_credential alert.
    await seedWatchedCredentialAlert(service, 'secret in a public gist (INC-9)');
    browser = await launchBrowser();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (service) expect(await terminate(service.process, 'SIGTERM')).toBe(0);
  });

  it('prints a link to this server with a one-time token in the fragment', async () => {
    const url = await link('alice');
    expect(url).toMatch(new RegExp(`^${base.replace(/\./g, '\\.')}/#login=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    const bad = await runCli(['console', '--user', 'alice; rm -rf /'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^tokenwatch: invalid --user .*expected 1 to 64 letters/);
  });

  it('signs in with the printed link, shows the feed and the alert, and is readable on a phone', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(await link('alice'));
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    // The token left the address bar.
    expect(page.url()).toBe(`${base}/`);
    await expect.poll(() => page.locator('.user').textContent()).toContain('alice');
    const row = page.locator('table.feed tbody tr', { hasText: 'watched_credential' });
    await row.waitFor();
    expect(await row.locator('.severity').textContent()).toBe('critical');
    expect(await page.locator('.counts').textContent()).toContain('watched_credential');
    await page.screenshot({ path: `${SCREENSHOTS}feed.png` });

    await row.locator('a').click();
    // The alert, or the error the page shows instead (quoted, so a failure says why); the
    // service's detectors tick beside these queries, which under a loaded CI took over 30 s.
    await page.locator('article.alert h1, p.error[role=alert]').first().waitFor({ timeout: 90_000 });
    expect(await page.locator('p.error[role=alert]').count(), (await page.locator('p.error[role=alert]').allTextContents()).join('; ')).toBe(0);
    await page.getByRole('heading', { name: /watched_credential/ }).waitFor();
    expect(page.url()).toMatch(/\/alerts\/[0-9a-f]{32}$/);
    expect(await page.locator('.facts').textContent()).toContain('tenant-1 / client-1');
    expect(await page.locator('table.events tbody tr').count()).toBe(1);
    expect(await page.locator('table.events').textContent()).toContain('203.0.113.50');
    expect(await page.locator('pre.sql').first().textContent()).toContain('FROM token_requests FINAL');
    await page.locator('.chart canvas').first().waitFor();
    // Acknowledge it: the page, and `tokenwatch alerts --json`, say so and who did it.
    await page.locator('input[name=note]').fill('looking into it (INC-9)');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => page.locator('h1 .status').textContent(), { timeout: 20_000 }).toBe('acknowledged');
    expect(await page.locator('[data-triage]').textContent()).toMatch(/^ack by alice at .* UTC: looking into it \(INC-9\)$/);
    const stored = (await cli(['alerts', '--json'])).stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stored.find((alert) => alert.finding === 'watched_credential')).toMatchObject({ status: 'acknowledged', triaged_by: 'alice', triage_note: 'looking into it (INC-9)' });
    // A second acknowledgement is refused with the triage rule's reason.
    expect(await page.getByRole('button', { name: 'Acknowledge' }).isDisabled()).toBe(true);
    await page.locator('select[aria-label=verdict]').selectOption('true_positive');
    await page.getByRole('button', { name: 'Record verdict' }).click();
    await expect.poll(() => page.locator('[data-triage]').textContent(), { timeout: 20_000 }).toContain('verdict: true positive');
    await page.screenshot({ path: `${SCREENSHOTS}alert.png`, fullPage: true });

    // The client's whole story, one click from the alert.
    await page.locator('.facts a', { hasText: 'tenant-1 / client-1' }).click();
    await page.locator('table.client-networks').waitFor();
    expect(page.url()).toBe(`${base}/client?tenant=tenant-1&client=client-1`);
    expect(await page.locator('table.client-networks').textContent()).toContain('AS3320');
    expect(await page.locator('table.client-credentials').textContent()).toContain('private_key_jwt');
    expect(await page.locator('table.client-software').textContent()).toContain('okhttp/4.12.0');
    expect(await page.locator('.client-alerts').textContent()).toContain('watched_credential');
    await page.locator('.chart canvas').first().waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}client.png`, fullPage: true });
    await page.goBack();

    // Keyboard: back to the feed, j/k and Enter open the selected alert.
    await page.goBack();
    await page.locator('table.feed tbody tr').nth(1).waitFor();
    // Firing first: the acknowledged alert is now second. j moves to it, Enter opens it.
    expect(await page.locator('table.feed tbody tr').nth(1).textContent()).toContain('watched_credential');
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /watched_credential/ }).waitFor();
    // Typed faster than the page renders (both keys in one task): Enter still opens the row j
    // selected, not the one selected before (a CI run under load caught the page doing that).
    await page.goBack();
    await page.locator('table.feed tbody tr').nth(1).waitFor();
    await page.evaluate("for (const key of ['j', 'Enter']) dispatchEvent(new KeyboardEvent('keydown', { key }))");
    await page.getByRole('heading', { name: /watched_credential/ }).waitFor();

    // Precision from the verdicts: one true positive of one judged watched_credential alert.
    await page.getByRole('link', { name: 'Precision' }).click();
    const precisionRow = page.locator('table.precision tr', { hasText: 'watched_credential' });
    await precisionRow.waitFor();
    expect(await precisionRow.locator('td').allTextContents()).toEqual(['watched_credential', '1', '1', '0', '0', '0', '100%']);

    // Investigate: read-only SQL with parameters, the saved queries of docs/investigations.md.
    await page.getByRole('link', { name: 'Investigate' }).click();
    await page.getByRole('heading', { name: 'Investigate' }).waitFor();
    expect(await page.locator('.saved li').count()).toBeGreaterThan(10);
    await page.locator('textarea[name=sql]').fill('SELECT client_id, uniqExact(event_id) AS requests FROM token_requests WHERE tenant = {tenant:String} GROUP BY client_id');
    await page.locator('input[name=param-tenant]').fill('tenant-1');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('table.result tbody tr').first().waitFor();
    expect(await page.locator('table.result tbody').textContent()).toBe('client-11');
    await page.screenshot({ path: `${SCREENSHOTS}investigate.png` });
    await page.locator('textarea[name=sql]').fill("INSERT INTO watch_list (watch_id) VALUES ('w-000000000000')");
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/INSERT|read-only|not allowed|only SELECT/i);

    // Health: the process's own metrics, a rate from two readings.
    await page.getByRole('link', { name: 'Health' }).click();
    await expect.poll(() => page.locator('[data-figure=ingest-rate]').textContent(), { timeout: 20_000 }).toMatch(/events\/s$/);
    expect(await page.locator('[data-figure=stored]').textContent()).toMatch(/^1 \(0 dead-lettered\)$/);
    expect(await page.locator('table', { hasText: 'detector' }).textContent()).toContain('watched_credential');
    await page.screenshot({ path: `${SCREENSHOTS}health.png` });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/`);
    await page.locator('table.feed tbody tr').first().waitFor();
    // Evaluated in the page (the test's own types know no DOM).
    const width = await page.evaluate('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SCREENSHOTS}feed-phone.png` });
    // Only the refused INSERT above may show up, as the browser's note on its 422.
    expect(errors.filter((error) => !error.includes('status of 422'))).toEqual([]);
    await page.close();
  });

  it('shows sign-in without a session, and refuses a link used twice', async () => {
    const url = await link('bob');
    const first = await browser.newPage();
    await first.goto(url);
    await first.getByRole('heading', { name: 'Alerts' }).waitFor();
    await first.close();

    const second = await browser.newPage(); // a new context: no cookie
    await second.goto(url);
    await second.getByRole('alert').waitFor();
    expect(await second.getByRole('alert').textContent()).toContain('already used');
    expect(await second.locator('h1').textContent()).toBe('tokenwatch console');
    await second.close();
  });

  it('answers 401 without a session, 403 without or with a wrong CSRF token and from another origin', async () => {
    expect((await fetch(`${base}/api/alerts`)).status).toBe(401);
    expect((await fetch(`${base}/api/session`)).status).toBe(401);
    // Without TOKENWATCH_CONSOLE_OIDC_ISSUER the one-time link is the only way in.
    expect(await (await fetch(`${base}/api/sign-in-methods`)).json()).toEqual({ idp: null });
    expect((await fetch(`${base}/api/oidc/login`, { redirect: 'manual' })).status).toBe(404);

    const token = (await link('carol')).split('#login=')[1] as string;
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^tokenwatch_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//);
    const { csrf } = (await login.json()) as { csrf: string };
    const session = cookie.split(';')[0] as string;

    const feed = (await (await fetch(`${base}/api/alerts?finding=watched_credential`, { headers: { cookie: session } })).json()) as { alerts: Array<{ alert_id: string }> };
    expect(feed.alerts).toHaveLength(1);
    // The alert's chart data: its client's one request, in the hour it was made, from the rollup.
    const detail = (await (await fetch(`${base}/api/alerts/${feed.alerts[0]?.alert_id}`, { headers: { cookie: session } })).json()) as { activity: { hours: number[]; successes: number[]; failures: number[] } };
    expect(detail.activity.successes.reduce((sum, count) => sum + count, 0)).toBe(1);
    expect(detail.activity.failures.every((count) => count === 0)).toBe(true);
    expect(detail.activity.hours).toHaveLength(detail.activity.successes.length);
    const logout = (headers: Record<string, string>) => fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', ...headers }, body: '{}' });
    expect((await logout({})).status).toBe(403);
    expect((await logout({ 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
    expect((await logout({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    // A forged login from another origin is refused before the token is even read.
    const crossLogin = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ token: 'x.y' }) });
    expect(crossLogin.status).toBe(403);
    // Bad filters name what was wrong; nothing reaches ClickHouse unvalidated.
    const badFilter = await fetch(`${base}/api/alerts?finding=${encodeURIComponent("x' OR 1=1 --")}`, { headers: { cookie: session } });
    expect(badFilter.status).toBe(400);
    expect(((await badFilter.json()) as { error: string }).error).toMatch(/^bad filter: finding: /);

    // Actions need the CSRF token too, and say why a refused one was refused.
    const alertId = feed.alerts[0]?.alert_id as string;
    const act = (headers: Record<string, string>, body: unknown) =>
      fetch(`${base}/api/alerts/${alertId}/actions`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await act({}, { action: 'resolve' })).status).toBe(403);
    const tooLong = await act({ 'x-csrf-token': csrf }, { action: 'suppress', suppress_for_ms: 365 * 86_400_000 });
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as { error: string }).error).toContain('at most 90 days');
    const badAction = await act({ 'x-csrf-token': csrf }, { action: 'delete' });
    expect(badAction.status).toBe(400);

    // The CSV download: the whole result, through the same read-only guard.
    const csv = await fetch(`${base}/api/sql.csv`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ query: 'SELECT client_id FROM token_requests WHERE client_id = {client:String}', params: { client: 'client-1' } }),
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    expect(await csv.text()).toBe('"client_id"\n"client-1"\n');
    const unknownClient = await fetch(`${base}/api/client?tenant=tenant-1&client=nobody`, { headers: { cookie: session } });
    expect(unknownClient.status).toBe(404);
    const refused = await fetch(`${base}/api/sql`, {
      method: 'POST',
      headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ query: "SELECT * FROM file('/etc/passwd')" }),
    });
    expect(refused.status).toBe(422);

    expect((await logout({ 'x-csrf-token': csrf })).status).toBe(200);
    expect((await fetch(`${base}/api/alerts`, { headers: { cookie: session } })).status).toBe(401);
  });

  it('serves the page with a Content-Security-Policy that allows no inline script and nothing from elsewhere', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file of this server
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from elsewhere
    expect((await fetch(`${base}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(200); // the ops endpoints stay where they were
  });
});
