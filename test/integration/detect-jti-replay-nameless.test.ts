import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { readAlertsUpdatedSince } from '@tokenwatch/detector/alerts-store';
import type { DetectContext } from '@tokenwatch/detector/detector';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

// A replay report that names no client (Keycloak's `Token '<jti>' already used when for issuedFor
// 'null'` without MDC logging: tenant and client `unknown`) joins the alert of the client that
// used its jti, instead of raising a second jti_replay for unknown/unknown.
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const SECOND = 1000;

function use(id: string, tenant: string, client: string, jti: string, at: number, extra: Partial<TokenRequestInput> = {}): TokenRequestInput {
  const iat = Math.floor((T0 + at * SECOND) / 1000);
  return {
    event_id: id,
    time: T0 + at * SECOND,
    idp: 'keycloak',
    tenant,
    client_id: client,
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    outcome: 'success',
    source_ip: '3.208.10.4',
    assertion: { jti, iat, exp: iat + 60, iss: client, sub: client },
    ...extra,
  };
}

/** What the adapter stores for Keycloak's client-less replay warning (docs/formats/keycloak.md). */
function namelessReport(id: string, jti: string, at: number, tenant = 'unknown'): TokenRequestInput {
  return {
    event_id: id,
    time: T0 + at * SECOND,
    idp: 'keycloak',
    tenant,
    client_id: 'unknown',
    grant_type: 'unknown',
    auth_method: 'unknown',
    outcome: 'failure',
    error_code: 'invalid_client',
    source_ip: '::',
    assertion: { jti },
    replay_reported: true,
  };
}

const rejected = { outcome: 'failure', error_code: 'invalid_client_credentials', assertion_unverified: true } as const;

describe('jti_replay links a replay report that names no client (real chDB)', () => {
  let clickhouse: ClickHouse;
  let context: DetectContext;
  const tick = async (events: TokenRequestInput[]): Promise<StoredAlert[]> => {
    await storeEvents(clickhouse, events);
    return [...(await runTick(context, jtiReplay, Date.now())).raised];
  };

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-jti-nameless');
    context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger: createLogger('silent') };
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  const stored = async (): Promise<StoredAlert[]> => (await readAlertsUpdatedSince(clickhouse.client, 0)).filter((alert) => alert.finding === 'jti_replay');

  it('Keycloak\'s order, the first use in an earlier tick: one alert, for the client, with the warning as evidence', async () => {
    expect(await tick([use('kc-1', 'demo', 'svc-jwt', 'jti-kc', 0)])).toEqual([]);
    // The warning and the CLIENT_LOGIN_ERROR of the replay, stored together.
    const raised = await tick([namelessReport('kc-warn', 'jti-kc', 5), use('kc-2', 'demo', 'svc-jwt', 'jti-kc', 5, rejected)]);
    expect(raised.map((alert) => [alert.tenant, alert.client_id, alert.alert_key])).toEqual([['demo', 'svc-jwt', 'jti-kc']]);
    expect(raised[0]).toMatchObject({ severity: 'high', event_count: 3 });
    expect(raised[0]?.evidence).toMatchObject({ replayed_uses: 1, accepted_replays: 0, replay_reported_by_idp: true });
    expect(raised[0]?.event_ids.sort()).toEqual(['kc-1', 'kc-2', 'kc-warn']);
  });

  it('a warning stored before the error that follows it: the client is alerted at once, and the error later joins the same alert', async () => {
    await tick([use('late-1', 'demo', 'svc-secret-jwt', 'jti-late', 20)]);
    const first = await tick([namelessReport('late-warn', 'jti-late', 25)]);
    expect(first.map((alert) => [alert.tenant, alert.client_id])).toEqual([['demo', 'svc-secret-jwt']]);
    expect(first[0]?.evidence).toMatchObject({ replayed_uses: 0, replay_reported_by_idp: true });
    expect(await tick([use('late-2', 'demo', 'svc-secret-jwt', 'jti-late', 25, rejected)])).toEqual([]);
    const alert = (await stored()).filter((a) => a.alert_key === 'jti-late');
    expect(alert).toHaveLength(1);
    expect(alert[0]?.event_ids.sort()).toEqual(['late-1', 'late-2', 'late-warn']);
  });

  it('a report naming its realm but no client links only within that realm', async () => {
    const raised = await tick([
      use('r-other', 'other-realm', 'svc-x', 'jti-realm', 40),
      use('r-1', 'demo', 'svc-y', 'jti-realm', 41),
      namelessReport('r-warn', 'jti-realm', 42, 'demo'),
    ]);
    // Two clients of two realms used one jti: only demo's svc-y is tied to the report.
    expect(raised.map((alert) => [alert.tenant, alert.client_id, alert.event_ids.sort()])).toEqual([['demo', 'svc-y', ['r-1', 'r-warn']]]);
  });

  it('a report whose jti no named client used still alerts on its own: the IdP\'s word is never dropped', async () => {
    const raised = await tick([namelessReport('alone-warn', 'jti-alone', 60)]);
    expect(raised.map((alert) => [alert.tenant, alert.client_id, alert.alert_key, alert.event_ids])).toEqual([['unknown', 'unknown', 'jti-alone', ['alone-warn']]]);
  });

  it('every jti_replay alert stored names a real client except the lone report', async () => {
    expect((await stored()).map((alert) => `${alert.tenant}/${alert.client_id}/${alert.alert_key}`).sort()).toEqual([
      'demo/svc-jwt/jti-kc',
      'demo/svc-secret-jwt/jti-late',
      'demo/svc-y/jti-realm',
      'unknown/unknown/jti-alone',
    ]);
  });
});
