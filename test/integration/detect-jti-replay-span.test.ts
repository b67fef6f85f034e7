import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { assertionRequest } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

/**
 * jti_replay looks an earlier use of a window's jti up only in the hours of jti_use_hours
 * where one can sit (reused-jtis.sql, migration 0016): from the use back to its assertion's
 * iat and forward to its exp, at least 15 minutes either way, and by (tenant, jti) over the
 * whole week when that span is longer than a few hours. Every first use below was stored and
 * examined in an earlier tick; the tick under test sees only the second uses.
 */

// Wednesday 2026-11-25 11:00:00 UTC: an hour boundary, mid-week (one weekly partition).
const ELEVEN = Date.UTC(2026, 10, 25, 11, 0, 0);
const seconds = (ms: number) => Math.floor(ms / 1000);

/** A use of an assertion issued at `iatMs` that expires at `expMs` (a replay repeats both). */
function use(id: string, client: string, jti: string, timeMs: number, iatMs: number, expMs: number, extra: Parameters<typeof assertionRequest>[4] = {}) {
  const request = assertionRequest(id, client, jti, timeMs, extra);
  return { ...request, assertion: { ...request.assertion, iat: seconds(iatMs), exp: seconds(expMs) } };
}

describe('jti_replay look-up span (real chDB)', () => {
  let clickhouse: ClickHouse;
  let raised: StoredAlert[];

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-jti-span');
    // Assertion hygiene would flag the long-lived assertions below; this file is about the look-up.
    const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0, jti_replay: { hygiene: { enabled: false } } } }, 'test').detectors, logger: createLogger('silent') };
    const longIat = ELEVEN - 2 * HOUR_MS - 10_000;
    const oldIat = ELEVEN - 2 * DAY_MS - 5_000;
    await storeEvents(clickhouse, [
      // 10:59:30, the hour before the replay.
      use('hour-a', 'svc-hour', 'jti-across-hours', ELEVEN - 30_000, ELEVEN - 40_000, ELEVEN + 80_000),
      // An assertion valid for 2 h 10 min, first used at 09:00.
      use('long-a', 'svc-long', 'jti-long-lived', ELEVEN - 2 * HOUR_MS, longIat, ELEVEN + 10 * MINUTE_MS),
      // An assertion issued two days ago, valid until noon: its replay's span is too long for keys.
      use('old-a', 'svc-old', 'jti-old-iat', ELEVEN - 2 * DAY_MS, oldIat, ELEVEN + HOUR_MS),
      // Two clients' own assertions with one jti, 10 minutes and 3 hours before the second client's.
      use('near-a', 'svc-near-a', 'jti-minutes-apart', ELEVEN - 10 * MINUTE_MS, ELEVEN - 10 * MINUTE_MS, ELEVEN - 8 * MINUTE_MS),
      use('far-a', 'svc-far-a', 'jti-hours-apart', ELEVEN - 3 * HOUR_MS, ELEVEN - 3 * HOUR_MS, ELEVEN - 3 * HOUR_MS + 2 * MINUTE_MS),
    ]);
    expect((await runTick(context, jtiReplay, Date.now())).raised).toEqual([]);
    await storeEvents(clickhouse, [
      use('hour-b', 'svc-hour', 'jti-across-hours', ELEVEN + 30_000, ELEVEN - 40_000, ELEVEN + 80_000),
      use('long-b', 'svc-long', 'jti-long-lived', ELEVEN, longIat, ELEVEN + 10 * MINUTE_MS),
      // Refused by the IdP: its iat is only what the sender wrote.
      use('old-b', 'svc-old', 'jti-old-iat', ELEVEN, oldIat, ELEVEN + HOUR_MS, { outcome: 'failure', error_code: 'invalid_client', assertion_unverified: true }),
      use('near-b', 'svc-near-b', 'jti-minutes-apart', ELEVEN, ELEVEN, ELEVEN + 2 * MINUTE_MS),
      use('far-b', 'svc-far-b', 'jti-hours-apart', ELEVEN, ELEVEN, ELEVEN + 2 * MINUTE_MS),
    ]);
    raised = [...(await runTick(context, jtiReplay, Date.now())).raised];
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  const replayOf = (jti: string) => raised.filter((alert) => alert.finding === 'jti_replay' && alert.alert_key === jti);

  it('finds a replay whose first use sits in the hour before (the span reaches back 15 minutes at least)', () => {
    const [alert] = replayOf('jti-across-hours');
    expect(alert).toMatchObject({ client_id: 'svc-hour', event_count: 2 });
    expect(alert?.event_ids.sort()).toEqual(['hour-a', 'hour-b']);
  });

  it('finds the replay of a long-lived assertion two hours after its first use: the span reaches back to its iat', () => {
    const [alert] = replayOf('jti-long-lived');
    expect(alert).toMatchObject({ client_id: 'svc-long', event_count: 2 });
    expect(alert?.event_ids.sort()).toEqual(['long-a', 'long-b']);
  });

  it('finds a replay whose iat is two days old (forged or not) by the week-long look-up by jti', () => {
    const [alert] = replayOf('jti-old-iat');
    expect(alert).toMatchObject({ client_id: 'svc-old', event_count: 2 });
    expect(alert?.event_ids.sort()).toEqual(['old-a', 'old-b']);
  });

  it('finds one jti presented by two clients 10 minutes apart, with assertions of their own', () => {
    const crossClient = raised.filter((alert) => alert.finding === 'jti_cross_client');
    expect(crossClient.map((alert) => alert.alert_key)).toEqual(['jti-minutes-apart']);
    expect(crossClient[0]?.event_ids.sort()).toEqual(['near-a', 'near-b']);
  });

  it('does not look 3 hours back for a use whose own assertion spans 2 minutes: that jti shared with another client raises nothing', () => {
    expect(raised.filter((alert) => alert.alert_key === 'jti-hours-apart')).toEqual([]);
    expect(raised).toHaveLength(4);
  });
});
