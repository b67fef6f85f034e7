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

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 2, 0, 0);
const FRANKFURT = { source_ip: '18.184.1.2', geo: { country: 'DE', asn: 16509, as_org: 'AMAZON-02' } };
const VIRGINIA = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };

const request = requestBuilder('monthly', { tenant: 'acme-prod' });

/** A monthly job's run: 20 tokens over 40 minutes from `where`. */
function run(client: string, at: number, where: Pick<TokenRequestInput, 'source_ip' | 'geo'>) {
  return Array.from({ length: 20 }, (_, n) => request(client, at + n * 2 * MINUTE, where));
}

describe('secret_new_location counts the lookback in the client\'s own active days (real chDB)', () => {
  let clickhouse: ClickHouse;
  let alerts: StoredAlert[];
  const config = parseConfig({ detectors: { safety_lag_seconds: 0, secret_new_location: { lookback_days: 30 } } }, 'test').detectors;
  const tick = () => runTick({ clickhouse: clickhouse.client, config, logger: createLogger('silent') }, secretNewLocation, Date.now());

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-location-monthly');
    const history: TokenRequestInput[] = [];
    // A monthly job, always from Frankfurt, with gaps of 31 and 33 days: longer than the lookback.
    for (const daysAgo of [95, 64, 33]) history.push(...run('media-backup', T0 - daysAgo * DAY, FRANKFURT));
    // A daily client that left Frankfurt 40 active days ago: coming back there is new again.
    for (let day = 80; day > 40; day -= 1) history.push(...run('svc-moved', T0 - day * DAY, FRANKFURT));
    for (let day = 40; day > 0; day -= 1) history.push(...run('svc-moved', T0 - day * DAY, VIRGINIA));
    await storeEvents(clickhouse, history);
    // The history's own tick (it judges the history's first uses); only the next one is asserted.
    await tick();
    await storeEvents(clickhouse, [...run('media-backup', T0, FRANKFURT), ...run('svc-moved', T0, FRANKFURT)]);
    alerts = [...(await tick()).raised];
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('does not page on a monthly job back at its usual place after a silence longer than the lookback', () => {
    expect(alerts.filter((alert) => alert.client_id === 'media-backup')).toEqual([]);
  });

  it('still pages when a daily client returns to a place it left more than the lookback of active days ago', () => {
    expect(alerts.filter((alert) => alert.client_id === 'svc-moved')).toMatchObject([{ severity: 'high', alert_key: 'country:DE' }]);
  });
});
