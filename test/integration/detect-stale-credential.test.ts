import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { staleCredential } from '@tokenwatch/detector/detectors/stale-credential/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };

const build = requestBuilder('stale', { idp: 'entra', auth_method: 'client_secret', ...HOME });
const request = (client: string, time: number, credential_id: string) => build(client, time, { credential_id });

/** One request a day over [from, to). */
const daily = (client: string, credential: string, from: number, to: number) => {
  const events: TokenRequestInput[] = [];
  for (let time = from; time < to; time += DAY) events.push(request(client, time, credential));
  return events;
};

describe('stale_credential detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        overrides: [{ client_id: 'svc-strict', stale_credential: { max_credential_age_days: 20 } }],
        allowlist: [{ findings: ['stale_credential'], client_id: 'svc-legacy', expires: '2099-01-01', reason: 'test: retired next quarter' }],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  const run = async () => (await runTick(context(), staleCredential, Date.now())).raised;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-stale-credential');
    await storeEvents(clickhouse, [
      ...daily('svc-old', 'key-1', T0 - 120 * DAY, T0),
      ...daily('svc-old', 'key-2', T0 - 30 * DAY, T0),
      ...daily('svc-strict', 'key-1', T0 - 30 * DAY, T0),
      ...daily('svc-legacy', 'key-1', T0 - 120 * DAY, T0),
      // Old, but it stopped minting before its 90 days were up.
      ...daily('svc-retired', 'key-1', T0 - 120 * DAY, T0 - 40 * DAY),
    ]);
    first = await run();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises low once per credential minting past max_credential_age_days, with per-client overrides and allowlists', () => {
    expect(first.map((a) => [a.client_id, a.alert_key]).sort()).toEqual([
      ['svc-old', 'credential:credential_id:key-1'],
      ['svc-strict', 'credential:credential_id:key-1'],
    ]);
    const old = first.find((a) => a.client_id === 'svc-old');
    expect(old).toMatchObject({ finding: 'stale_credential', severity: 'low', window_start: T0 - 30 * DAY });
    expect(old?.evidence).toMatchObject({
      credential_id: 'key-1',
      first_use: new Date(T0 - 120 * DAY).toISOString(),
      last_use: new Date(T0 - DAY).toISOString(),
      age_days: 119,
      max_credential_age_days: 90,
      requests: 120,
      networks: [14618],
      countries: ['US'],
    });
    expect(first.find((a) => a.client_id === 'svc-strict')?.evidence).toMatchObject({ max_credential_age_days: 20 });
  });

  it('keeps one alert per credential as it goes on minting', async () => {
    await storeEvents(clickhouse, [request('svc-old', T0 + HOUR, 'key-1'), request('svc-old', T0 + HOUR, 'key-2')]);
    const { raised, updated } = await runTick(context(), staleCredential, Date.now());
    expect(raised).toEqual([]);
    expect(updated.map((a) => a.alert_id)).toEqual(first.filter((a) => a.client_id === 'svc-old').map((a) => a.alert_id));
  });

  it('finds the same alerts in a backtest over stored history', async () => {
    const found = await backtest(context(), staleCredential, { from: T0 - 130 * DAY, to: T0 + DAY });
    expect(found.map((a) => a.alert_id).sort()).toEqual(first.map((a) => a.alert_id).sort());
  });
});
