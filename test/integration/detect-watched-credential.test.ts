import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { watchedCredential } from '@tokenwatch/detector/detectors/watched-credential/index';
import { writeWatermark } from '@tokenwatch/detector/watermarks';
import { addWatch, readWatches, removeWatch } from '@tokenwatch/detector/watch/watch-list';
import { FINDINGS } from '@tokenwatch/detector/findings';
import { createLogger } from '@tokenwatch/shared/log';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const request = requestBuilder('watched', { idp: 'entra', auth_method: 'client_secret_post', credential_id: 'key-old' });

/**
 * Now, or the last millisecond of yesterday (UTC) in the first quarter hour of a day: the alert
 * is one per watch and UTC day, so requests dated 10, 5 and 1 minutes before a moment just after
 * midnight fall on two days and raise two alerts (CI ran this at 00:02 UTC once).
 */
function momentWithItsLastQuarterHourInOneUtcDay(): number {
  const now = Date.now();
  const startOfDay = now - (now % DAY);
  return now - startOfDay >= 15 * 60_000 ? now : startOfDay - 1;
}

describe('watched_credential detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  const config = parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  /** One live tick over what arrived since the previous one (the first starts at beforeAll). */
  const tick = async () => runTick(context(), watchedCredential, Date.now() + 1);

  beforeAll(async () => {
    clickhouse = await openTestStorage('watched');
    await writeWatermark(clickhouse.client, watchedCredential.name, Date.now() - 1);
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises a critical alert within one tick for a success and a failure of a watched client, and nothing for others', async () => {
    const now = momentWithItsLastQuarterHourInOneUtcDay();
    const watch = await addWatch(clickhouse.client, { tenant: 'acme', client_id: 'svc-leaked', since: now - HOUR, reason: 'secret in a public repo (INC-1)', added_by: 'alice@host' });
    await storeEvents(clickhouse, [
      request('svc-leaked', now - 10 * 60_000, { source_ip: '198.51.100.9', geo: { country: 'NL', asn: 64500, as_org: 'VPS' } }),
      request('svc-leaked', now - 5 * 60_000, { outcome: 'failure', error_code: 'invalid_client', source_ip: '198.51.100.9', user_agent: 'curl/8.4.0' }),
      // Before --since: not an alert.
      request('svc-leaked', now - 2 * HOUR),
      // Another client, another tenant with the same client id: not watched.
      request('svc-fine', now - 60_000),
      { ...request('svc-leaked', now - 60_000), tenant: 'other' },
    ]);
    const result = await tick();
    expect(result.raised).toHaveLength(1);
    const [alert] = result.raised;
    expect(alert).toMatchObject({
      finding: 'watched_credential',
      severity: 'critical',
      tenant: 'acme',
      client_id: 'svc-leaked',
      alert_key: `watch:${watch.watch_id}`,
      event_count: 2,
      first_seen: now - 10 * 60_000,
      last_seen: now - 5 * 60_000,
      status: 'firing',
    });
    expect(alert!.summary).toContain('secret in a public repo (INC-1)');
    expect(alert!.evidence).toMatchObject({
      watch: { watch_id: watch.watch_id, reason: 'secret in a public repo (INC-1)', added_by: 'alice@host', until: null },
      requests: 2,
      successes: 1,
      failures: 1,
      source_ips: ['198.51.100.9'],
      error_codes: ['invalid_client'],
      user_agents: ['curl/8.4.0'],
    });
    expect(FINDINGS.read(alert!).ok).toBe(true);

    // The next request of the day updates the same alert with the day's whole count.
    await storeEvents(clickhouse, [request('svc-leaked', now - 60_000)]);
    const next = await tick();
    expect(next.raised).toEqual([]);
    expect(next.updated).toEqual([expect.objectContaining({ alert_id: alert!.alert_id, event_count: 3 })]);
  });

  it('watches one credential only when told to, and stops at --until and on removal', async () => {
    const now = Date.now();
    const credential = await addWatch(clickhouse.client, { tenant: 'acme', client_id: 'svc-rotating', credential_id: 'key-old', since: now - HOUR, reason: 'old key leaked', added_by: 'bob' });
    await addWatch(clickhouse.client, { tenant: 'acme', client_id: 'svc-ended', since: now - 2 * HOUR, until: now - HOUR, reason: 'ended', added_by: 'bob' });
    const removed = await addWatch(clickhouse.client, { tenant: 'acme', client_id: 'svc-cleared', since: now - HOUR, reason: 'false alarm', added_by: 'bob' });
    await removeWatch(clickhouse.client, { watch_id: removed.watch_id, removed_by: 'carol' });
    await storeEvents(clickhouse, [
      request('svc-rotating', now - 60_000, { credential_id: 'key-new' }),
      request('svc-rotating', now - 50_000, { credential_id: 'key-old' }),
      request('svc-ended', now - 60_000),
      request('svc-cleared', now - 60_000),
    ]);
    const result = await tick();
    expect(result.raised.map((alert) => [alert.client_id, alert.alert_key, alert.event_count])).toEqual([['svc-rotating', `watch:${credential.watch_id}`, 1]]);
    expect(result.raised[0]!.evidence).toMatchObject({ credentials: ['key-old'], watch: { credential_id: 'key-old' } });

    const listed = await readWatches(clickhouse.client);
    expect(listed.find((watch) => watch.watch_id === removed.watch_id)).toMatchObject({ removed: true, removed_by: 'carol', reason: 'false alarm', added_by: 'bob' });
    await expect(removeWatch(clickhouse.client, { watch_id: removed.watch_id, removed_by: 'carol' })).rejects.toThrow(`watch ${removed.watch_id} was already removed by carol`);
    await expect(removeWatch(clickhouse.client, { watch_id: 'w-000000000000', removed_by: 'carol' })).rejects.toThrow('no watch w-000000000000');
  });

  it('refuses a watch without a reason, or ending before it starts', async () => {
    await expect(addWatch(clickhouse.client, { tenant: 'acme', client_id: 'x', since: 0, reason: '  ', added_by: 'bob' })).rejects.toThrow(/say why/);
    await expect(addWatch(clickhouse.client, { tenant: 'acme', client_id: 'x', since: 10, until: 5, reason: 'r', added_by: 'bob' })).rejects.toThrow(/must be after --since/);
  });

  it('is seen by backtests: a watch with a past --since finds what already happened, per day', async () => {
    const day = Date.UTC(2026, 9, 5);
    await storeEvents(clickhouse, [
      request('svc-history', day + HOUR),
      request('svc-history', day + 2 * HOUR, { outcome: 'failure', error_code: 'invalid_client' }),
      request('svc-history', day + DAY + HOUR),
    ]);
    await addWatch(clickhouse.client, { tenant: 'acme', client_id: 'svc-history', since: day - DAY, reason: 'advisory', added_by: 'bob' });
    const found = await backtest(context(), watchedCredential, { from: day - DAY, to: day + 3 * DAY });
    expect(found.map((alert) => [alert.client_id, alert.window_start, alert.event_count, alert.severity])).toEqual([
      ['svc-history', day, 2, 'critical'],
      ['svc-history', day + DAY, 1, 'critical'],
    ]);
  });

  it('keeps the watch list across a restart', async () => {
    const before = await readWatches(clickhouse.client);
    const dataDir = clickhouse.dataDir;
    await clickhouse.close();
    clickhouse = await openClickHouse(settingsFrom({ ...testEnv('watched-reopen'), TOKENWATCH_DATA_DIR: dataDir! }));
    expect(await readWatches(clickhouse.client)).toEqual(before);
    expect(before.length).toBeGreaterThanOrEqual(5);
  });
});
