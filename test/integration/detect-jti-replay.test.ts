import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { readAlertsUpdatedSince } from '@tokenwatch/detector/alerts-store';
import type { DetectContext } from '@tokenwatch/detector/detector';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { assertionRequest } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const SECOND = 1000;

/** One assertion-authenticated request; `at` in seconds after T0. */
const use = (id: string, client: string, jti: string, at: number, extra: Partial<TokenRequestInput> = {}): TokenRequestInput =>
  assertionRequest(id, client, jti, T0 + at * SECOND, extra);

const ATTACKER = { source_ip: '185.220.101.9', geo: { country: 'DE', asn: 60729, as_org: 'Stiftung Erneuerbare Freiheit' } };

describe('jti_replay detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let context: DetectContext;
  let firstTick: StoredAlert[];

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-jti');
    context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger: createLogger('silent') };
    const benign = Array.from({ length: 200 }, (_, i) => use(`benign-${i}`, `svc-${i % 7}`, `jti-benign-${i}`, i * 10));
    await storeEvents(clickhouse, [
      ...benign,
      // Accepted replay from another network 40 s later: critical.
      use('r1-a', 'svc-orders', 'jti-accepted', 100),
      use('r1-b', 'svc-orders', 'jti-accepted', 140, ATTACKER),
      // Rejected replay from the same network: high.
      use('r2-a', 'svc-billing', 'jti-rejected', 200),
      use('r2-b', 'svc-billing', 'jti-rejected', 230, { outcome: 'failure', error_code: 'invalid_client' }),
      // The IdP reported the replay; tokenwatch saw only that one request: high.
      use('r3', 'svc-ledger', 'jti-reported', 300, { outcome: 'failure', error_code: 'invalid_client', replay_reported: true }),
      // The same jti from two clients.
      use('x1-a', 'svc-alpha', 'jti-shared', 400),
      use('x1-b', 'svc-beta', 'jti-shared', 401),
      // Reused only after it expired (exp = iat + 120 s, plus 60 s leeway): not a replay.
      use('late-a', 'svc-late', 'jti-late', 500),
      use('late-b', 'svc-late', 'jti-late', 700, { outcome: 'failure', error_code: 'invalid_client' }),
      // Hygiene: a one-hour assertion (low), and one without a jti.
      use('h1', 'svc-sloppy', 'jti-long', 600, { assertion: { jti: 'jti-long', iat: T0 / 1000 + 600, exp: T0 / 1000 + 4200, alg: 'RS256' } }),
      use('h2', 'svc-sloppy', '', 610, { assertion: { iat: T0 / 1000 + 610, exp: T0 / 1000 + 670, alg: 'RS256' } }),
    ]);
    const tick = await runTick(context, jtiReplay, Date.now());
    firstTick = [...tick.raised];
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  const find = (finding: string, client: string) => firstTick.filter((a) => a.finding === finding && a.client_id === client);

  it('raises a critical alert for a replay the IdP accepted from another network, with the evidence', () => {
    const [alert] = find('jti_replay', 'svc-orders');
    expect(alert).toMatchObject({ severity: 'critical', alert_key: 'jti-accepted', event_count: 2, status: 'firing', tenant: 'acme' });
    expect(alert?.event_ids.sort()).toEqual(['r1-a', 'r1-b']);
    expect(alert?.evidence).toMatchObject({ jti: 'jti-accepted', replayed_uses: 1, accepted_replays: 1, distinct_asns: [14618, 60729] });
    expect(alert?.summary).toContain('accepted a replay');
  });

  it('raises high when every replay was rejected, and for an IdP-reported replay seen once', () => {
    expect(find('jti_replay', 'svc-billing')).toMatchObject([{ severity: 'high', event_count: 2 }]);
    expect(find('jti_replay', 'svc-ledger')).toMatchObject([{ severity: 'high', event_count: 1, alert_key: 'jti-reported' }]);
  });

  it('reports one jti presented by two clients as its own finding', () => {
    const cross = firstTick.filter((a) => a.finding === 'jti_cross_client');
    expect(cross).toHaveLength(1);
    expect(cross[0]?.evidence).toMatchObject({ jti: 'jti-shared', clients: expect.arrayContaining(['svc-alpha', 'svc-beta']) });
  });

  it('does not call a reuse after expiry a replay, and stays silent on benign traffic', () => {
    expect(find('jti_replay', 'svc-late')).toEqual([]);
    const clients = new Set(firstTick.filter((a) => a.finding === 'jti_replay').map((a) => a.client_id));
    expect([...clients].sort()).toEqual(['svc-billing', 'svc-ledger', 'svc-orders']);
  });

  it('flags assertion hygiene per client and day at low severity', () => {
    const hygiene = find('assertion_hygiene', 'svc-sloppy');
    expect(hygiene.map((a) => a.alert_key).sort()).toEqual(['long_lifetime', 'missing_jti']);
    expect(hygiene.every((a) => a.severity === 'low')).toBe(true);
    // The accepted replay came 40 s after iat: within the 60 s skew allowed.
    expect(firstTick.filter((a) => a.finding === 'assertion_hygiene').map((a) => a.client_id)).toEqual(['svc-sloppy', 'svc-sloppy']);
  });

  it('moves its watermark: a second tick examines nothing and raises nothing', async () => {
    const tick = await runTick(context, jtiReplay, Date.now());
    expect(tick.raised).toEqual([]);
    expect(tick.updated).toEqual([]);
  });

  it('updates the same alert (same id, larger count) when the jti is used again', async () => {
    const before = find('jti_replay', 'svc-orders')[0];
    await storeEvents(clickhouse, [use('r1-c', 'svc-orders', 'jti-accepted', 150, ATTACKER)]);
    const tick = await runTick(context, jtiReplay, Date.now());
    expect(tick.raised).toEqual([]);
    expect(tick.updated).toHaveLength(1);
    expect(tick.updated[0]).toMatchObject({ alert_id: before?.alert_id, event_count: 3, created_at: before?.created_at });
    expect(tick.updated[0]!.updated_at).toBeGreaterThan(before!.updated_at);
    const stored = await readAlertsUpdatedSince(clickhouse.client, 0);
    expect(stored.filter((a) => a.alert_id === before?.alert_id)).toHaveLength(1);
  });

  it('backtests the same history to the same findings without storing anything', async () => {
    const storedBefore = await readAlertsUpdatedSince(clickhouse.client, 0);
    const found = await backtest(context, jtiReplay, { from: T0 - 3_600_000, to: T0 + 3_600_000 });
    expect(found.map((a) => a.alert_id).sort()).toEqual(storedBefore.map((a) => a.alert_id).sort());
    expect(await readAlertsUpdatedSince(clickhouse.client, 0)).toHaveLength(storedBefore.length);
  });
});
