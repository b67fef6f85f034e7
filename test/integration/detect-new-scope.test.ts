import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { newScope } from '@tokenwatch/detector/detectors/new-scope/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, selectRows, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const AUDIENCE = 'https://api.acme.example/orders';
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };

const request = requestBuilder('new-scope', { idp: 'auth0', auth_method: 'client_secret_post', user_agent: 'orders-sync/1.4.2 okhttp/4.12.0', audience: AUDIENCE, ...HOME });
const grant = (client: string, time: number, scopes: string[], extra: Partial<TokenRequestInput> = {}) => request(client, time, { scopes }, extra);

/** A grant every three hours over [from, to), cycling through `shapes`. */
function every(client: string, from: number, to: number, shapes: string[][]): TokenRequestInput[] {
  const events: TokenRequestInput[] = [];
  for (let time = from, i = 0; time < to; time += 3 * HOUR, i++) events.push(grant(client, time, shapes[i % shapes.length] as string[]));
  return events;
}

const CLIENTS = ['svc-exporter', 'svc-writer', 'svc-varying', 'svc-deploy', 'svc-admin-api', 'svc-other-finding'];

describe('new_scope detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  let raised: readonly StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [
          // A deploy that adds a scope, announced with an allowlist entry.
          { findings: ['new_scope'], client_id: 'svc-deploy', expires: '2099-01-01', reason: 'test: release 2.0 adds create:clients' },
          { findings: ['new_user_agent'], client_id: 'svc-other-finding', expires: '2099-01-01', reason: 'test: another finding only' },
          // Expired: hides nothing.
          { findings: ['new_scope'], client_id: 'svc-writer', expires: '2020-01-01', reason: 'test: expired' },
        ],
        overrides: [{ client_id: 'svc-custom', new_scope: { sensitive_scopes: ['orders:*'] } }],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  const run = async () => (await runTick(context(), newScope, Date.now())).raised;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-new-scope');
    const history: TokenRequestInput[] = [];
    for (const client of [...CLIENTS, 'svc-custom']) history.push(...every(client, T0 - 20 * DAY, T0, [['orders:read']]));
    history.push(...every('svc-shapes', T0 - 20 * DAY, T0, [['orders:read'], ['orders:write'], ['orders:read', 'orders:write']]));
    history.push(...every('svc-young', T0 - 2 * DAY, T0, [['orders:read']]));
    await storeEvents(clickhouse, history);
    first = await run();

    // The history leaves token_requests (as if retention had dropped it): the detector must
    // still know every client's scopes, from the client_traits rollup alone.
    await clickhouse.client.command({ query: `ALTER TABLE token_requests DELETE WHERE time < {t:DateTime64(3, 'UTC')} SETTINGS mutations_sync = 2`, query_params: { t: new Date(T0 - HOUR).toISOString().replace('T', ' ').replace('Z', '') } });
    const [left] = await selectRows<{ n: string }>(clickhouse, 'SELECT count() AS n FROM token_requests');
    expect(Number(left?.n)).toBeLessThan(20);

    await storeEvents(clickhouse, [
      grant('svc-exporter', T0 + HOUR, ['orders:read', 'orders:export'], { source_ip: '159.203.1.2', geo: { country: 'NL', asn: 14061, as_org: 'DIGITALOCEAN-ASN' }, user_agent: 'python-requests/2.31.0' }),
      grant('svc-exporter', T0 + HOUR + 60_000, ['orders:read', 'orders:export']),
      grant('svc-writer', T0 + HOUR, ['orders:read', 'orders:write']),
      grant('svc-varying', T0 + HOUR, ['orders:read']),
      grant('svc-shapes', T0 + HOUR, ['orders:write']),
      grant('svc-deploy', T0 + HOUR, ['orders:read', 'create:clients']),
      grant('svc-admin-api', T0 + HOUR, ['read:users'], { audience: 'https://acme.eu.auth0.com/api/v2/' }),
      grant('svc-other-finding', T0 + HOUR, ['orders:read', 'orders:admin']),
      grant('svc-custom', T0 + HOUR, ['orders:write']),
      grant('svc-young', T0 + HOUR, ['orders:read', 'orders:export']),
      // A refused request grants nothing.
      grant('svc-varying', T0 + HOUR, ['orders:delete'], { outcome: 'failure', error_code: 'access_denied' }),
    ]);
    raised = await run();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises nothing while the history itself arrives', () => {
    expect(first).toEqual([]);
  });

  it('raises high for a new sensitive scope, with the request and the usual scopes with their first-seen dates', () => {
    const found = raised.filter((a) => a.client_id === 'svc-exporter');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      finding: 'new_scope',
      severity: 'high',
      alert_key: 'new:scope:orders:export',
      first_seen: T0 + HOUR,
      event_count: 2,
      evidence: {
        new_scopes: [{ kind: 'scope', value: 'orders:export', sensitive: '*export*' }],
        granted_scopes: ['orders:export', 'orders:read'],
        request: { asn: 14061, country: 'NL', user_agent: 'python-requests/2.31.0', source_ips: expect.arrayContaining(['159.203.1.2']) },
        usual_scopes: [
          // Counted over everything the rollup holds, the two new requests included.
          { kind: 'audience', value: AUDIENCE, first_seen: new Date(T0 - 20 * DAY).toISOString(), requests: 162 },
          { kind: 'scope', value: 'orders:read', first_seen: new Date(T0 - 20 * DAY).toISOString(), requests: 162 },
        ],
      },
    });
    expect(found[0]?.summary).toContain('orders:export');
    expect(found[0]?.summary).toContain('matches *export*');
  });

  it('raises medium for a new scope that is not sensitive, and high for the Management API audience', () => {
    expect(raised.filter((a) => a.client_id === 'svc-writer')).toMatchObject([{ severity: 'medium', alert_key: 'new:scope:orders:write' }]);
    expect(raised.filter((a) => a.client_id === 'svc-admin-api')).toMatchObject([
      {
        severity: 'high',
        alert_key: 'new:audience:https://acme.eu.auth0.com/api/v2/ scope:read:users',
        evidence: { new_scopes: [{ value: 'read:users', sensitive: 'read:users' }, { kind: 'audience', sensitive: 'https://*.auth0.com/api/v2/' }] },
      },
    ]);
  });

  it('honours per-client sensitive lists and allowlist entries for this finding only', () => {
    expect(raised.filter((a) => a.client_id === 'svc-custom')).toMatchObject([{ severity: 'high' }]);
    expect(raised.filter((a) => a.client_id === 'svc-other-finding')).toMatchObject([{ severity: 'high' }]);
    expect(raised.map((a) => a.client_id).sort()).toEqual(['svc-admin-api', 'svc-custom', 'svc-exporter', 'svc-other-finding', 'svc-writer']);
  });

  it('stays silent for scopes inside the used set, an allowlisted deploy, a young client and a refused request', () => {
    for (const client of ['svc-varying', 'svc-shapes', 'svc-deploy', 'svc-young']) expect(raised.filter((a) => a.client_id === client)).toEqual([]);
  });

  it('does not raise again when the new scope is used again', async () => {
    await storeEvents(clickhouse, [grant('svc-exporter', T0 + 3 * HOUR, ['orders:read', 'orders:export'])]);
    expect(await run()).toEqual([]);
  });

  it('finds the same alerts in a backtest (and again in a second one)', async () => {
    const found = await backtest(context(), newScope, { from: T0 - 21 * DAY, to: T0 + DAY });
    expect(found.map((a) => a.alert_id).sort()).toEqual(raised.map((a) => a.alert_id).sort());
    const again = await backtest(context(), newScope, { from: T0 - 21 * DAY, to: T0 + DAY });
    expect(again.map((a) => a.alert_id).sort()).toEqual(found.map((a) => a.alert_id).sort());
  });
});
