import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { newUserAgent } from '@tokenwatch/detector/detectors/new-user-agent/index';
import { userAgentFamily } from '@tokenwatch/shared/user-agent-family';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, selectRows, storeEvents } from '../helpers/storage.js';
import { requestBuilder } from '../helpers/events.js';
import { REAL_USER_AGENTS } from '../helpers/user-agents.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const OKHTTP = 'okhttp/4.9.3';
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const OTHER_ASN = { source_ip: '159.203.1.2', geo: { country: 'US', asn: 14061, as_org: 'DIGITALOCEAN-ASN' } };

const build = requestBuilder('new-ua', { scopes: ['orders:read'], ...HOME });
/** A request with `userAgent`, or with no user agent at all. */
const request = (client: string, time: number, userAgent: string | undefined, extra: Partial<TokenRequestInput> = {}) =>
  build(client, time, userAgent === undefined ? {} : { user_agent: userAgent }, extra);

function every(client: string, from: number, to: number, userAgent: string | undefined): TokenRequestInput[] {
  const events: TokenRequestInput[] = [];
  for (let time = from; time < to; time += 3 * HOUR) events.push(request(client, time, userAgent));
  return events;
}

describe('new_user_agent detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  let raised: readonly StoredAlert[];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [
          { findings: ['new_user_agent'], client_id: 'svc-migrating', expires: '2099-01-01', reason: 'test: moving to the Go SDK' },
          { findings: ['new_scope'], client_id: 'svc-other-finding', expires: '2099-01-01', reason: 'test: another finding only' },
        ],
        overrides: [{ client_id: 'svc-off', new_user_agent: { enabled: false } }],
      },
    },
    'test',
  ).detectors;
  const context = () => ({ clickhouse: clickhouse.client, config, logger: createLogger('silent') });
  const run = async () => (await runTick(context(), newUserAgent, Date.now())).raised;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-new-user-agent');
    const history: TokenRequestInput[] = [];
    for (const client of ['svc-upgraded', 'svc-stolen', 'svc-new-tool', 'svc-tried', 'svc-migrating', 'svc-other-finding', 'svc-off']) {
      history.push(...every(client, T0 - 20 * DAY, T0, OKHTTP));
    }
    history.push(...every('svc-young', T0 - 2 * DAY, T0, OKHTTP));
    history.push(...every('svc-no-agent', T0 - 20 * DAY, T0, undefined));
    await storeEvents(clickhouse, history);
    first = await run();

    // The history leaves token_requests: what the client ran is known from the rollups alone.
    await clickhouse.client.command({
      query: `ALTER TABLE token_requests DELETE WHERE time < {t:DateTime64(3, 'UTC')} SETTINGS mutations_sync = 2`,
      query_params: { t: new Date(T0 - HOUR).toISOString().replace('T', ' ').replace('Z', '') },
    });
    const [left] = await selectRows<{ n: string }>(clickhouse, 'SELECT count() AS n FROM token_requests');
    expect(Number(left?.n)).toBeLessThan(20);

    await storeEvents(clickhouse, [
      request('svc-upgraded', T0 + HOUR, 'okhttp/4.12.0'),
      request('svc-stolen', T0 + HOUR, 'python-requests/2.31.0', OTHER_ASN),
      request('svc-stolen', T0 + HOUR + 60_000, 'python-requests/2.32.3', OTHER_ASN),
      request('svc-new-tool', T0 + HOUR, 'curl/8.4.0'),
      request('svc-tried', T0 + HOUR - 10 * 60_000, 'Go-http-client/1.1', { outcome: 'failure', error_code: 'invalid_client' }),
      // A failure two hours before another client's new software is not "in the hour before".
      request('svc-new-tool', T0 - HOUR, OKHTTP, { outcome: 'failure', error_code: 'invalid_client' }),
      request('svc-tried', T0 + HOUR, 'Go-http-client/1.1'),
      request('svc-migrating', T0 + HOUR, 'Go-http-client/2.0'),
      request('svc-other-finding', T0 + HOUR, 'curl/8.4.0'),
      request('svc-off', T0 + HOUR, 'curl/8.4.0'),
      request('svc-young', T0 + HOUR, 'curl/8.4.0'),
      request('svc-no-agent', T0 + HOUR, 'curl/8.4.0'),
    ]);
    raised = await run();
  }, 120_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('computes the same user-agent family in the rollup (SQL) as in TypeScript, on real user agents', async () => {
    const events = REAL_USER_AGENTS.map((userAgent, i) => request(`ua-${i}`, T0 - 30 * DAY, userAgent));
    await storeEvents(clickhouse, events);
    const rows = await selectRows<{ client_id: string; value: string }>(
      clickhouse,
      "SELECT client_id, toString(value) AS value FROM client_traits WHERE kind = 'user_agent_family' AND startsWith(client_id, 'ua-')",
    );
    const sql = new Map(rows.map((row) => [row.client_id, row.value]));
    const expected = REAL_USER_AGENTS.map((userAgent, i) => [userAgent, userAgentFamily(userAgent), sql.get(`ua-${i}`) ?? '']);
    expect(expected.filter(([, typescript, clickhouse]) => typescript !== clickhouse)).toEqual([]);
    expect(rows.length).toBe(REAL_USER_AGENTS.filter((userAgent) => userAgentFamily(userAgent) !== '').length);
  });

  it('raises nothing while the history itself arrives', () => {
    expect(first).toEqual([]);
  });

  it('raises high for new software from a network the client never used, with the usual software and networks', () => {
    expect(raised.filter((a) => a.client_id === 'svc-stolen')).toMatchObject([
      {
        finding: 'new_user_agent',
        severity: 'high',
        alert_key: 'family:python-requests',
        first_seen: T0 + HOUR,
        event_count: 2,
        evidence: {
          new_family: 'python-requests',
          user_agent: 'python-requests/2.31.0',
          request: { asn: 14061, new_network: true, failures_before: 0 },
          usual_families: [{ family: 'okhttp', example: OKHTTP, first_seen: new Date(T0 - 20 * DAY).toISOString(), requests: 160 }],
          usual_networks: [{ asn: 14618, as_org: 'AMAZON-AES', country: 'US', requests: 160 }],
        },
      },
    ]);
    expect(raised.find((a) => a.client_id === 'svc-stolen')?.summary).toContain('a network it never used');
  });

  it('raises medium for new software from the usual network, high after failed requests in the hour before', () => {
    expect(raised.filter((a) => a.client_id === 'svc-new-tool')).toMatchObject([{ severity: 'medium', evidence: { new_family: 'curl', request: { new_network: false } } }]);
    expect(raised.filter((a) => a.client_id === 'svc-tried')).toMatchObject([{ severity: 'high', evidence: { new_family: 'go-http-client', request: { failures_before: 1 } } }]);
  });

  it('stays silent for a version upgrade, allowlisted or disabled clients, a young client and a first user agent ever', () => {
    expect(raised.map((a) => a.client_id).sort()).toEqual(['svc-new-tool', 'svc-other-finding', 'svc-stolen', 'svc-tried']);
  });

  it('does not raise again for the next requests of the new software', async () => {
    await storeEvents(clickhouse, [request('svc-stolen', T0 + 3 * HOUR, 'python-requests/2.31.0', OTHER_ASN)]);
    expect(await run()).toEqual([]);
  });

  it('finds the same alerts in a backtest', async () => {
    const found = await backtest(context(), newUserAgent, { from: T0 - 21 * DAY, to: T0 + DAY });
    expect(found.map((a) => a.alert_id).sort()).toEqual(raised.map((a) => a.alert_id).sort());
  });
});
