import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { launchBrowser } from '../helpers/browser.js';
import { terminate } from '../helpers/cli.js';
import { produce, waitForConsumed } from '../helpers/kafka.js';
import { startService, type StartedService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';

// Each alert's picture on the console of a real `tokenwatch start` (real Kafka, real chDB, the
// real detectors), drawn in a real headless Chromium: a mint_volume burst against its baseline
// band, a replayed jti's uses on a timeline, a secret's new location among the client's
// networks of 30 days, and the grids of a client that changed everything at once (new
// software, a new credential, a new scope, four networks in one window). Its own process, so
// the counts console.test.ts asserts stay exact. The screenshots are the ones docs/console.md shows.

const SCREENSHOTS = fileURLToPath(new URL('../../docs/console/', import.meta.url));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANT = 'tenant-pictures';

const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const ABROAD = { source_ip: '91.92.93.94', geo: { country: 'RU', asn: 12389, as_org: 'ROSTELECOM-AS' } };
const ELSEWHERE = [
  { source_ip: '159.203.1.2', geo: { country: 'US', asn: 14061, as_org: 'DIGITALOCEAN-ASN' } },
  { source_ip: '5.9.10.11', geo: { country: 'DE', asn: 24940, as_org: 'HETZNER-AS' } },
  ABROAD,
];

let serial = 0;
function request(client: string, time: number, where: Pick<TokenRequestInput, 'source_ip' | 'geo'>, extra: Partial<TokenRequestInput> = {}): TokenRequestInput {
  serial += 1;
  return {
    event_id: `pictures-${serial}`,
    time,
    idp: 'okta',
    tenant: TENANT,
    client_id: client,
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: 'success',
    user_agent: 'okhttp/4.12.0',
    scopes: ['orders.read'],
    ...where,
    ...extra,
  };
}

/** One request per hour of [from, to). */
function hourly(client: string, from: number, to: number, where: Pick<TokenRequestInput, 'source_ip' | 'geo'>, extra: Partial<TokenRequestInput> = {}): TokenRequestInput[] {
  const requests: TokenRequestInput[] = [];
  for (let at = from; at < to; at += HOUR) requests.push(request(client, at, where, extra));
  return requests;
}

interface PictureAnswer {
  kind: string;
  [key: string]: unknown;
}
interface GridAnswer extends PictureAnswer {
  rows: Array<{ label: string; marked: boolean; cells: number[]; requests: number }>;
  legend: string;
}

describe('the picture of each alert on the console', () => {
  let env: Record<string, string>;
  let service: StartedService;
  let base = '';
  let browser: Browser;
  let session = '';
  const alertIds = new Map<string, string>();
  const now = Date.now();

  const cli = (args: string[]) => service.cli(args);
  const link = async (user: string) => (await cli(['console', '--user', user])).stdout.trim();
  const api = (path: string, cookie = session) => fetch(`${base}${path}`, { headers: cookie ? { cookie } : {} });
  const picture = async <T extends PictureAnswer>(finding: string): Promise<T> => (await (await api(`/api/alerts/${alertIds.get(finding)}/picture`)).json()) as T;

  async function openAlert(page: Page, finding: string): Promise<void> {
    await page.goto(`${base}/alerts/${alertIds.get(finding)}`);
    await page.getByRole('heading', { name: new RegExp(finding) }).waitFor();
    await page.locator('.alert-picture').waitFor();
  }

  beforeAll(async () => {
    service = await startService('console-pictures');
    ({ env, base } = service);

    const lastHour = Math.floor(now / HOUR) * HOUR;
    // mint_volume: two quiet days (one token an hour), then 150 tokens in one 5-minute bucket.
    const bucket = Math.floor((now - 60_000) / 300_000) * 300_000;
    const mint = [
      ...hourly('svc-mint', lastHour - 2 * DAY, lastHour - HOUR, HOME),
      ...Array.from({ length: 150 }, (_, i) => request('svc-mint', bucket + i * 10, HOME)),
    ];
    // jti_replay: one assertion presented three times, from two networks, within its validity.
    const assertion = { jti: 'jti-pictures-1', iat: Math.floor(now / 1000) - 60, exp: Math.floor(now / 1000) + 240, kid: 'key-jti', alg: 'RS256' };
    const jti = [
      request('svc-jti', now - 40_000, HOME, { assertion }),
      request('svc-jti', now - 30_000, ABROAD, { assertion, outcome: 'failure', error_code: 'invalid_grant' }),
      request('svc-jti', now - 20_000, ABROAD, { assertion }),
    ];
    // secret_new_location: ten days of a shared secret from home, then one request from abroad.
    const secret = { auth_method: 'client_secret_basic', credential_id: 'secret-1' } as const;
    const located = [...hourly('svc-secret', lastHour - 10 * DAY, lastHour - HOUR, HOME, secret).filter((_, i) => i % 6 === 0), request('svc-secret', now - 30_000, ABROAD, secret)];
    // A client that changes everything at once after ten quiet days: new software, a new
    // credential, a new (sensitive) scope, and four networks inside ten minutes.
    const usual = { credential_id: 'key-old' };
    const changed = { credential_id: 'key-new', user_agent: 'python-requests/2.31.0', scopes: ['orders.read', 'okta.users.manage'] };
    const rich = [
      ...hourly('svc-rich', lastHour - 10 * DAY, lastHour - HOUR, HOME, usual).filter((_, i) => i % 3 === 0),
      request('svc-rich', now - 50_000, HOME, usual),
      ...ELSEWHERE.map((where, i) => request('svc-rich', now - 40_000 + i * 5_000, where, changed)),
    ];
    await produce(env.TOKENWATCH_TOPIC as string, [...mint, ...jti, ...located, ...rich].map((event) => JSON.stringify(event)));
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);

    const token = (await link('dana')).split('#login=')[1] as string;
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    session = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const wanted = ['mint_volume', 'jti_replay', 'secret_new_location', 'new_user_agent', 'new_credential', 'new_scope', 'concurrent_networks'];
    const alerts = await waitFor(
      async () => ((await (await api(`/api/alerts?tenant=${TENANT}`)).json()) as { alerts: Array<{ alert_id: string; finding: string; client_id: string }> }).alerts,
      (found) => wanted.every((finding) => found.some((alert) => alert.finding === finding)),
      { timeoutMs: 120_000, intervalMs: 1_000, what: `alerts of ${wanted.join(', ')}` },
    );
    for (const alert of alerts) if (!alertIds.has(alert.finding)) alertIds.set(alert.finding, alert.alert_id);
    browser = await launchBrowser();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (service) expect(await terminate(service.process, 'SIGTERM')).toBe(0);
  });

  it('answers each finding with the picture that fits it, read from the rollups', async () => {
    const volume = await picture<PictureAnswer & { series: string; buckets: number[]; counts: number[]; marked: { from: number; to: number }; band: { median: number; threshold: number }; legend: string }>('mint_volume');
    expect(volume.kind).toBe('volume_band');
    expect(volume.series).toBe('successes');
    // The burst's bucket holds the 150 tokens; the band is the detector's: median 0 of quiet
    // 5-minute buckets, threshold the absolute floor of 100.
    expect(Math.max(...volume.counts.filter((_, i) => (volume.buckets[i] ?? 0) >= volume.marked.from && (volume.buckets[i] ?? 0) < volume.marked.to))).toBe(150);
    expect(volume.band).toMatchObject({ median: 0, threshold: 100 });
    expect(volume.legend).toContain('Band: from the baseline median (0) to the threshold (100)');

    const timeline = await picture<PictureAnswer & { jti: string; uses: Array<{ asn: number; outcome: string }> }>('jti_replay');
    expect(timeline.kind).toBe('jti_timeline');
    expect(timeline.jti).toBe('jti-pictures-1');
    expect(timeline.uses.map((use) => `${use.asn} ${use.outcome}`)).toEqual(['14618 success', '12389 failure', '12389 success']);

    const networks = await picture<GridAnswer>('secret_new_location');
    expect(networks.kind).toBe('networks_days');
    expect(networks.rows.map((row) => `${row.label}${row.marked ? ' (marked)' : ''}`)).toEqual(['AS12389 RU (marked)', 'AS14618 US']);
    // Home: a request every six hours for ten days; abroad: today only.
    expect(networks.rows[1]?.cells.filter((count) => count > 0).length).toBeGreaterThanOrEqual(10);
    expect(networks.rows[0]?.cells.filter((count) => count > 0)).toEqual([1]);
    expect(networks.legend).toContain('Marked: the new location');

    const software = await picture<GridAnswer & { trait: string }>('new_user_agent');
    expect(software).toMatchObject({ kind: 'traits_weeks', trait: 'software' });
    expect(software.rows.filter((row) => row.marked).map((row) => row.label)).toEqual(['python-requests']);
    expect(software.rows.map((row) => row.label)).toContain('okhttp');
    const scopes = await picture<GridAnswer>('new_scope');
    expect(scopes.rows.filter((row) => row.marked).map((row) => row.label)).toEqual(['okta.users.manage']);
    const credentials = await picture<GridAnswer>('new_credential');
    expect(credentials.kind).toBe('credentials_timeline');
    expect(credentials.rows.map((row) => `${row.label}${row.marked ? ' (marked)' : ''}`)).toEqual(['key-new (marked)', 'key-old']);
    const slots = await picture<GridAnswer>('concurrent_networks');
    expect(slots.kind).toBe('asn_slots');
    expect(slots.rows.filter((row) => row.marked).length).toBeGreaterThanOrEqual(3);
    expect(slots.rows.every((row) => row.cells.length === 288)).toBe(true);
  });

  it('refuses the picture without a session, and names an unknown or malformed alert id', async () => {
    const id = alertIds.get('jti_replay') as string;
    expect((await api(`/api/alerts/${id}/picture`, '')).status).toBe(401);
    const unknown = await api(`/api/alerts/${'0'.repeat(32)}/picture`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe(`no alert ${'0'.repeat(32)}`);
    const malformed = await api(`/api/alerts/${encodeURIComponent("x' OR 1=1")}/picture`);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toBe('expected an alert id (32 hex digits)');
  });

  it('draws each picture with a caption saying what is marked, at 1280x800, on a phone and in the dark', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(await link('dana'));
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();

    await openAlert(page, 'mint_volume');
    const band = page.locator('[data-picture=volume_band]');
    await band.locator('canvas').first().waitFor();
    expect(await band.locator('figcaption').textContent()).toContain('baseline band (median 0 to threshold 100)');
    expect(await band.locator('figcaption .legend').textContent()).toMatch(/^The client's successful token requests per 5 minutes\. Band: /);
    await band.screenshot({ path: `${SCREENSHOTS}picture-volume-band.png` });

    await openAlert(page, 'jti_replay');
    const timeline = page.locator('[data-picture=jti_timeline]');
    expect(await timeline.locator('svg circle.use').count()).toBe(3);
    expect(await timeline.locator('svg .lane-label').allTextContents()).toEqual(['AS14618', 'AS12389']);
    expect(await timeline.locator('table.jti-uses tbody tr').count()).toBe(3);
    await timeline.screenshot({ path: `${SCREENSHOTS}picture-jti-timeline.png` });

    await openAlert(page, 'secret_new_location');
    const networks = page.locator('[data-picture=networks_days]');
    expect(await networks.locator('tr.marked .row-label').allTextContents()).toEqual(['AS12389 RU']);
    expect(await networks.locator('figcaption').textContent()).toContain('Marked: the new location');
    // The grid scrolls by keyboard: its scroller takes focus.
    await networks.locator('.scroll').focus();
    expect(await page.evaluate('document.activeElement.classList.contains("scroll")')).toBe(true);
    await networks.screenshot({ path: `${SCREENSHOTS}picture-networks-days.png` });
    await page.screenshot({ path: `${SCREENSHOTS}alert-secret-new-location.png`, fullPage: true });

    for (const [finding, kind, label] of [
      ['new_user_agent', 'traits_weeks', 'python-requests'],
      ['new_credential', 'credentials_timeline', 'key-new'],
      ['concurrent_networks', 'asn_slots', ''],
    ] as const) {
      await openAlert(page, finding);
      const grid = page.locator(`[data-picture=${kind}]`);
      const marked = await grid.locator('tr.marked .row-label').allTextContents();
      expect(marked.length, finding).toBeGreaterThan(0);
      if (label) expect(marked).toEqual([label]);
      await grid.screenshot({ path: `${SCREENSHOTS}picture-${kind.replace(/_/g, '-')}.png` });
    }

    // A phone: the page never scrolls sideways (the grid scrolls inside its own box).
    await page.setViewportSize({ width: 390, height: 844 });
    await openAlert(page, 'secret_new_location');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.evaluate('document.querySelector(".alert-picture").scrollIntoView()');
    await page.screenshot({ path: `${SCREENSHOTS}picture-phone.png` });
    await openAlert(page, 'jti_replay');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // Dark: the pictures take the theme's colours (the canvas reads them when it draws).
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 1280, height: 800 });
    await openAlert(page, 'mint_volume');
    await page.locator('[data-picture=volume_band] canvas').first().waitFor();
    expect(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')).toBe('rgb(15, 19, 23)');
    await page.screenshot({ path: `${SCREENSHOTS}picture-dark.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
