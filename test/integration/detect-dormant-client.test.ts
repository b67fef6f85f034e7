import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { dormantClient } from '@tokenwatch/detector/detectors/dormant-client/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const OTHER_ASN = { source_ip: '159.203.1.2', geo: { country: 'US', asn: 14061, as_org: 'DIGITALOCEAN-ASN' } };

const request = requestBuilder('dormant', { idp: 'entra', auth_method: 'client_secret', user_agent: 'billing-sync/1.4.2 okhttp/4.12.0', ...HOME });

/** A request every `step` over [from, to). */
function every(step: number, client: string, from: number, to: number, extra: Partial<TokenRequestInput> = {}) {
  const events: TokenRequestInput[] = [];
  for (let time = from; time < to; time += step) events.push(request(client, time, HOME, extra));
  return events;
}

/** One run on the 20th of each month at 02:00, from July to October 2026. */
const monthly = (client: string) => [6, 7, 8, 9].map((month) => request(client, Date.UTC(2026, month, 20, 2)));

describe('dormant_client detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  let woken: readonly StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [
          { findings: ['dormant_client'], client_id: 'svc-dr-drill', expires: '2099-01-01', reason: 'test: yearly DR drill' },
          // An entry for another finding hides nothing here.
          { client_id: 'svc-partner', asn: 14061, expires: '2099-01-01', reason: 'test: secret_new_location only' },
        ],
        overrides: [{ client_id: 'svc-short-sleeper', dormant_client: { dormant_days: 7 } }],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  const run = async () => (await runTick(context(), dormantClient, Date.now())).raised;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-dormant');
    const history: TokenRequestInput[] = [];
    // Twenty days of a token every three hours, ending 60 days before T0.
    for (const client of ['svc-sleeper', 'svc-stolen', 'svc-dr-drill', 'svc-partner']) history.push(...every(3 * HOUR, client, T0 - 80 * DAY, T0 - 60 * DAY));
    history.push(...every(3 * HOUR, 'svc-rotated', T0 - 80 * DAY, T0 - 60 * DAY, { credential_id: 'key-1' }));
    // Ten days of history, then 12 days asleep: over its own 7 days, under the global 30.
    history.push(...every(3 * HOUR, 'svc-short-sleeper', T0 - 22 * DAY, T0 - 12 * DAY));
    history.push(...every(3 * HOUR, 'svc-mid-sleeper', T0 - 22 * DAY, T0 - 12 * DAY));
    // Seen for a day, then nothing for 40 days: too little history to judge.
    history.push(...every(3 * HOUR, 'svc-young', T0 - 41 * DAY, T0 - 40 * DAY));
    history.push(...every(3 * HOUR, 'svc-awake', T0 - 40 * DAY, T0));
    history.push(...monthly('svc-monthly'));
    // Weekly for ten weeks.
    for (let week = 10; week >= 1; week--) history.push(request('svc-weekly', T0 - week * 7 * DAY));
    await storeEvents(clickhouse, history);
    first = await run();

    await storeEvents(clickhouse, [
      request('svc-sleeper', T0 + HOUR),
      request('svc-sleeper', T0 + HOUR + 60_000),
      request('svc-stolen', T0 + HOUR, OTHER_ASN, { user_agent: 'python-requests/2.31.0' }),
      request('svc-rotated', T0 + HOUR, HOME, { credential_id: 'key-9' }),
      request('svc-dr-drill', T0 + HOUR),
      request('svc-partner', T0 + HOUR, OTHER_ASN),
      request('svc-short-sleeper', T0 + HOUR),
      request('svc-mid-sleeper', T0 + HOUR),
      request('svc-young', T0 + HOUR),
      request('svc-awake', T0 + HOUR),
      request('svc-monthly', Date.UTC(2026, 10, 20, 2)),
      request('svc-weekly', T0),
      // A failed attempt is no wake: the sleeper's only token after T0 + 1 h is still the one above.
      request('svc-mid-sleeper', T0 + 2 * HOUR, OTHER_ASN, { outcome: 'failure', error_code: '7000215' }),
    ]);
    woken = await run();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises nothing while the history itself arrives', () => {
    expect(first).toEqual([]);
  });

  it('raises medium for a sleeper waking where it always was, saying when it slept and from where it came', () => {
    const [alert, ...rest] = woken.filter((a) => a.client_id === 'svc-sleeper');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ finding: 'dormant_client', severity: 'medium', event_count: 2, first_seen: T0 + HOUR });
    expect(alert?.alert_key).toBe(`slept-since:${new Date(T0 - 60 * DAY - 3 * HOUR).toISOString()}`);
    expect(alert?.evidence).toMatchObject({
      last_seen_before: new Date(T0 - 60 * DAY - 3 * HOUR).toISOString(),
      longest_gap_days: 0.1,
      client_first_seen: new Date(T0 - 80 * DAY).toISOString(),
      woke: { asn: 14618, new_network: false, new_credential: false, source_ips: ['3.208.10.4'] },
      usual_networks: [{ asn: 14618, as_org: 'AMAZON-AES', country: 'US', requests: 160 }],
    });
    // From the last token (60 days and 3 hours before T0) to the wake an hour after T0.
    expect((alert?.evidence as { slept_days: number }).slept_days).toBe(60.2);
    expect(alert?.summary).toContain('after 60 days without one');
  });

  it('raises high when the wake comes from a network the client never used', () => {
    expect(woken.filter((a) => a.client_id === 'svc-stolen')).toMatchObject([
      { severity: 'high', evidence: { woke: { asn: 14061, new_network: true, user_agent: 'python-requests/2.31.0' } } },
    ]);
    expect(woken.find((a) => a.client_id === 'svc-stolen')?.summary).toContain('a network it never used');
  });

  it('raises high when the wake uses a credential the client never used', () => {
    expect(woken.filter((a) => a.client_id === 'svc-rotated')).toMatchObject([
      { severity: 'high', evidence: { woke: { credential_ids: ['key-9'], new_credential: true }, usual_credentials: [{ credential_id: 'key-1', requests: 160 }] } },
    ]);
  });

  it('honours per-client dormant_days and allowlist entries for this finding only', () => {
    expect(woken.filter((a) => a.client_id === 'svc-short-sleeper')).toMatchObject([{ severity: 'medium' }]);
    expect(woken.map((a) => a.client_id).sort()).toEqual(['svc-partner', 'svc-rotated', 'svc-short-sleeper', 'svc-sleeper', 'svc-stolen']);
  });

  it('stays silent for monthly and weekly jobs, young clients, awake clients and shorter sleeps', () => {
    for (const client of ['svc-monthly', 'svc-weekly', 'svc-young', 'svc-awake', 'svc-mid-sleeper', 'svc-dr-drill']) {
      expect(woken.filter((a) => a.client_id === client)).toEqual([]);
    }
  });

  it('does not raise again for the next requests of a woken client', async () => {
    await storeEvents(clickhouse, [request('svc-stolen', T0 + 3 * HOUR, OTHER_ASN)]);
    expect(await run()).toEqual([]);
  });

  it('finds the same alerts in a backtest over stored history', async () => {
    const found = await backtest(context(), dormantClient, { from: T0 - 90 * DAY, to: T0 + DAY });
    expect(found.map((a) => a.alert_id).sort()).toEqual(woken.map((a) => a.alert_id).sort());
  });
});
