import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { runTick } from '@tokenwatch/detector/engine';
import { secretNewLocation } from '@tokenwatch/detector/detectors/secret-new-location/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const ABROAD = { source_ip: '91.92.93.94', geo: { country: 'RU', asn: 12389, as_org: 'ROSTELECOM-AS' } };
const OTHER_ASN = { source_ip: '159.203.1.2', geo: { country: 'US', asn: 14061, as_org: 'DIGITALOCEAN-ASN' } };

const request = requestBuilder('loc');

/** One request per hour from `where` over [from, to). */
function hourly(client: string, from: number, to: number, where: Pick<TokenRequestInput, 'source_ip' | 'geo'>, extra: Partial<TokenRequestInput> = {}) {
  const events: TokenRequestInput[] = [];
  for (let time = from; time < to; time += HOUR) events.push(request(client, time, where, extra));
  return events;
}

describe('secret_new_location detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let alerts: StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [
          { client_id: 'svc-travelling', country: 'RU', expires: '2099-01-01', reason: 'test: allowed until 2099' },
          { client_id: 'svc-expired', country: 'RU', expires: '2020-01-01', reason: 'test: long expired' },
        ],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  const run = async () => (await runTick(context(), secretNewLocation, Date.now()));

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-location');
    const events: TokenRequestInput[] = [];
    for (const client of ['svc-leaky', 'svc-asn', 'svc-travelling', 'svc-expired', 'svc-jwt', 'svc-private']) {
      events.push(...hourly(client, T0 - 10 * DAY, T0, HOME, client === 'svc-jwt' ? { auth_method: 'private_key_jwt' } : {}));
    }
    events.push(...hourly('svc-young', T0 - 2 * DAY, T0, HOME));
    events.push(
      request('svc-leaky', T0 + HOUR, ABROAD),
      request('svc-leaky', T0 + HOUR + 60_000, ABROAD),
      request('svc-asn', T0 + HOUR, OTHER_ASN),
      request('svc-travelling', T0 + HOUR, ABROAD),
      request('svc-expired', T0 + HOUR, ABROAD),
      request('svc-jwt', T0 + HOUR, ABROAD, { auth_method: 'private_key_jwt' }),
      request('svc-young', T0 + HOUR, ABROAD),
      // A private address has no location to compare.
      request('svc-private', T0 + HOUR, { source_ip: '10.1.2.3' }, { geo: {} }),
      // Failed attempts are not a secret "used" from a place (mint_volume's failure burst covers them).
      request('svc-asn', T0 + HOUR, ABROAD, { outcome: 'failure', error_code: 'invalid_client' }),
    );
    await storeEvents(clickhouse, events);
    alerts = [...(await run()).raised];
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises high for a secret used from a new country, naming the place and the known ones', () => {
    const [alert, ...rest] = alerts.filter((a) => a.client_id === 'svc-leaky');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ finding: 'secret_new_location', severity: 'high', alert_key: 'country:RU', event_count: 2, first_seen: T0 + HOUR });
    expect(alert?.evidence).toMatchObject({
      level: 'country',
      new_location: { country: 'RU', asn: 12389, source_ips: ['91.92.93.94'] },
      known_locations: [{ value: 'US', requests: 240 }],
    });
    expect(alert?.summary).toContain('91.92.93.94');
  });

  it('raises medium for a new ASN within a known country', () => {
    expect(alerts.filter((a) => a.client_id === 'svc-asn')).toMatchObject([{ severity: 'medium', alert_key: 'asn:14061' }]);
  });

  it('stays silent for assertion clients, young clients, private addresses and allowlisted places', () => {
    expect(alerts.map((a) => a.client_id).sort()).toEqual(['svc-asn', 'svc-expired', 'svc-leaky']);
  });

  it('updates the same alert when the new place keeps being used, and does not re-raise it', async () => {
    const before = alerts.find((a) => a.client_id === 'svc-leaky');
    await storeEvents(clickhouse, [request('svc-leaky', T0 + 2 * HOUR, ABROAD), request('svc-leaky', T0 + 3 * HOUR, ABROAD)]);
    const tick = await run();
    expect(tick.raised).toEqual([]);
    expect(tick.updated).toMatchObject([{ alert_id: before?.alert_id, event_count: 4, last_seen: T0 + 3 * HOUR }]);
  });

  it('treats the place as known a day after its first use', async () => {
    await storeEvents(clickhouse, [request('svc-leaky', T0 + 30 * HOUR, ABROAD)]);
    const tick = await run();
    expect(tick.raised).toEqual([]);
    expect(tick.updated).toEqual([]);
  });
});
