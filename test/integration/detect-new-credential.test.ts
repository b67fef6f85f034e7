import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { backtest, runTick } from '@tokenwatch/detector/engine';
import { newCredential } from '@tokenwatch/detector/detectors/new-credential/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOME = { source_ip: '3.208.10.4', geo: { country: 'US', asn: 14618, as_org: 'AMAZON-AES' } };
const SECOND_REGION = { source_ip: '34.89.1.2', geo: { country: 'DE', asn: 396982, as_org: 'GOOGLE-CLOUD-PLATFORM' } };
const ATTACKER = { source_ip: '185.220.101.7', geo: { country: 'NL', asn: 208294, as_org: 'CIA TRIAD SECURITY' } };
type Where = typeof HOME;

let seq = 0;
function request(client: string, time: number, where: Where, extra: Partial<TokenRequestInput> = {}): TokenRequestInput {
  seq += 1;
  return {
    event_id: `newcred-${seq}`,
    time,
    idp: 'entra',
    tenant: 'acme',
    client_id: client,
    grant_type: 'client_credentials',
    auth_method: 'client_secret',
    outcome: 'success',
    ...where,
    ...extra,
  };
}

/** A request every `step` over [from, to). */
function every(step: number, client: string, from: number, to: number, where: Where, extra: Partial<TokenRequestInput> = {}) {
  const events: TokenRequestInput[] = [];
  for (let time = from; time < to; time += step) events.push(request(client, time, where, extra));
  return events;
}

const key = (credential_id: string) => ({ credential_id });
const kid = (value: string) => ({ auth_method: 'private_key_jwt' as const, assertion: { kid: value, jti: `jti-${(seq += 1)}` } });

describe('new_credential detector (real chDB)', () => {
  let clickhouse: ClickHouse;
  let first: readonly StoredAlert[];
  let raised: readonly StoredAlert[];
  const logged: Array<Record<string, unknown>> = [];
  const config = parseConfig(
    {
      detectors: {
        safety_lag_seconds: 0,
        allowlist: [{ findings: ['new_credential'], client_id: 'svc-allowed', asn: 208294, expires: '2099-01-01', reason: 'test: vendor-run key' }],
      },
    },
    'test',
  ).detectors;
  const logger = createLogger('silent');
  const recordingLogger = Object.assign(Object.create(logger) as typeof logger, {
    info: (fields: Record<string, unknown>) => void logged.push(fields),
  });
  const context = () => ({ clickhouse: clickhouse.client, config, logger: recordingLogger });
  const run = async () => (await runTick(context(), newCredential, Date.now())).raised;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-new-credential');
    const history: TokenRequestInput[] = [];
    // Forty days of a token every three hours with key-1, up to T0.
    for (const client of ['svc-rotate', 'svc-attacked', 'svc-parallel', 'svc-allowed']) history.push(...every(3 * HOUR, client, T0 - 40 * DAY, T0, HOME, key('key-1')));
    // svc-parallel once ran in a second region too (a month ago): that network is known to it.
    history.push(...every(3 * HOUR, 'svc-parallel', T0 - 35 * DAY, T0 - 30 * DAY, SECOND_REGION, key('key-1')));
    // A client minting from two regions all along.
    for (const where of [HOME, SECOND_REGION]) history.push(...every(3 * HOUR, 'svc-two-regions', T0 - 40 * DAY, T0, where, key('key-1')));
    // Two days old: still learning.
    history.push(...every(3 * HOUR, 'svc-young', T0 - 2 * DAY, T0, HOME, key('key-1')));
    // Never logged a credential before.
    history.push(...every(3 * HOUR, 'svc-unnamed', T0 - 40 * DAY, T0, HOME));
    // Keys named by the assertion's kid; the attacker's kid was tried earlier on a refused,
    // unverified request, which must not make it known.
    history.push(...every(3 * HOUR, 'svc-kid', T0 - 40 * DAY, T0, HOME, kid('kid-1')));
    history.push(request('svc-kid', T0 - 10 * DAY, ATTACKER, { ...kid('kid-evil'), outcome: 'failure', error_code: 'invalid_client', assertion_unverified: true }));
    await storeEvents(clickhouse, history);
    first = await run();

    await storeEvents(clickhouse, [
      // Rotation: key-2 from the usual hosts, key-1 stops an hour later.
      ...every(20 * 60_000, 'svc-rotate', T0 + HOUR, T0 + 5 * HOUR, HOME, key('key-2')),
      ...every(20 * 60_000, 'svc-rotate', T0, T0 + 2 * HOUR, HOME, key('key-1')),
      // Rotation in a two-region client: key-2 reaches the first region while key-1 runs in both.
      ...every(20 * 60_000, 'svc-two-regions', T0 + HOUR, T0 + 3 * HOUR, HOME, key('key-2')),
      ...every(20 * 60_000, 'svc-two-regions', T0, T0 + 2 * HOUR, HOME, key('key-1')),
      ...every(20 * 60_000, 'svc-two-regions', T0, T0 + 3 * HOUR, SECOND_REGION, key('key-1')),
      // An attacker-added key from the attacker's network while key-1 keeps minting at home.
      ...every(20 * 60_000, 'svc-attacked', T0 + HOUR, T0 + 2 * HOUR, ATTACKER, key('key-evil')),
      ...every(20 * 60_000, 'svc-attacked', T0, T0 + 3 * HOUR, HOME, key('key-1')),
      // A new key from a network the client knows, while key-1 mints elsewhere at the same time.
      ...every(20 * 60_000, 'svc-parallel', T0 + HOUR, T0 + 2 * HOUR, SECOND_REGION, key('key-x')),
      ...every(20 * 60_000, 'svc-parallel', T0, T0 + 3 * HOUR, HOME, key('key-1')),
      ...every(20 * 60_000, 'svc-allowed', T0 + HOUR, T0 + 2 * HOUR, ATTACKER, key('key-vendor')),
      ...every(20 * 60_000, 'svc-young', T0 + HOUR, T0 + 2 * HOUR, ATTACKER, key('key-2')),
      ...every(20 * 60_000, 'svc-unnamed', T0 + HOUR, T0 + 2 * HOUR, ATTACKER, key('key-2')),
      ...every(20 * 60_000, 'svc-kid', T0 + HOUR, T0 + 2 * HOUR, ATTACKER, kid('kid-evil')),
    ]);
    raised = await run();
  }, 180_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('raises nothing while the history itself arrives', () => {
    expect(first).toEqual([]);
  });

  it('raises high for an attacker-added key used from a new network in parallel with the old one', () => {
    const [alert, ...rest] = raised.filter((a) => a.client_id === 'svc-attacked');
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ finding: 'new_credential', severity: 'high', alert_key: 'credential:credential_id:key-evil', first_seen: T0 + HOUR });
    expect(alert?.evidence).toMatchObject({
      credential_id: 'key-evil',
      new_network: true,
      parallel_use: true,
      first_uses: [{ asn: 208294, country: 'NL', source_ips: ['185.220.101.7'], requests: 3 }],
      parallel_old_uses: [{ credential_id: 'key-1', asn: 14618 }],
      old_credentials: [{ credential_id: 'key-1', networks: [14618] }],
      usual_networks: [14618],
    });
    expect(alert?.summary).toContain('from a network the client never used');
  });

  it('raises high for a new key minting in parallel with the old one from another, known, network', () => {
    expect(raised.filter((a) => a.client_id === 'svc-parallel')).toMatchObject([
      { severity: 'high', evidence: { credential_id: 'key-x', new_network: false, parallel_use: true } },
    ]);
  });

  it('raises for a new assertion kid, and a refused unverified request did not make it known', () => {
    expect(raised.filter((a) => a.client_id === 'svc-kid')).toMatchObject([
      { severity: 'high', alert_key: 'credential:assertion_kid:kid-evil', evidence: { credential_source: 'assertion_kid', new_network: true } },
    ]);
  });

  it('stays silent for rotations, learning clients, first credentials and allowlisted keys', () => {
    expect(raised.map((a) => a.client_id).sort()).toEqual(['svc-attacked', 'svc-kid', 'svc-parallel']);
  });

  it('records each rotation once in the log', () => {
    expect(logged.filter((fields) => fields.client_id === 'svc-rotate')).toMatchObject([{ credential: 'key-2', old_credentials: ['key-1'] }]);
    expect(logged.filter((fields) => fields.client_id === 'svc-two-regions')).toMatchObject([{ credential: 'key-2' }]);
  });

  it('does not raise again for the next requests of the new credential', async () => {
    await storeEvents(clickhouse, [request('svc-attacked', T0 + 4 * HOUR, ATTACKER, key('key-evil'))]);
    expect(await run()).toEqual([]);
  });

  it('finds the same alerts in a backtest over stored history', async () => {
    const found = await backtest(context(), newCredential, { from: T0 - 50 * DAY, to: T0 + DAY });
    expect(found.map((a) => a.alert_id).sort()).toEqual(raised.map((a) => a.alert_id).sort());
  });
});
