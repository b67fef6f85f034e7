import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import type { DetectContext } from '@tokenwatch/detector/detector';
import { backtest } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { keycloakFormat } from '@tokenwatch/ingest/formats/keycloak';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import type { TokenRequest } from '@tokenwatch/shared/events/token-request';
import { eventOf, validated } from '../helpers/formats.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

// The replays a real Keycloak 26.5.6 logged (test/fixtures/formats/keycloak/real-26.x, captured by
// scripts/capture-keycloak-fixtures.mjs), through the adapter into chDB, then the jti_replay
// detector over them. Needs no Keycloak: only the captured log records.
const dir = new URL('../fixtures/formats/keycloak/real-26.x/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')) as { cases: { name: string; assertion_jtis: string[] }[] };
const jtiOf = (name: string): string => manifest.cases.find((c) => c.name === name)?.assertion_jtis[0] ?? '';

function stored(name: string): TokenRequest[] {
  return readFileSync(new URL(`${name}.jsonl`, dir), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => keycloakFormat.adapt(JSON.parse(line) as Record<string, unknown>))
    .filter((result) => result.kind !== 'skip')
    .map((result) => validated(eventOf(result).event));
}

describe('jti_replay over what Keycloak 26.5.6 logged (real chDB)', () => {
  let clickhouse: ClickHouse;
  let alerts: StoredAlert[];
  const events = manifest.cases.flatMap((c) => stored(c.name));

  beforeAll(async () => {
    clickhouse = await openTestStorage('keycloak-real-replay');
    const context: DetectContext = {
      clickhouse: clickhouse.client,
      config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors,
      logger: createLogger('silent'),
    };
    await storeEvents(clickhouse, events);
    const times = events.map((event) => event.time);
    alerts = await backtest(context, jtiReplay, { from: Math.min(...times) - 3_600_000, to: Math.max(...times) + 3_600_000 });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  for (const [name, client] of [
    ['private-key-jwt-replay', 'svc-jwt'],
    ['client-secret-jwt-replay', 'svc-secret-jwt'],
  ] as const) {
    it(`${name}: raises jti_replay for ${client} in realm demo, with both uses and Keycloak's warning as evidence`, () => {
      const jti = jtiOf(name);
      const forClient = alerts.filter((alert) => alert.finding === 'jti_replay' && alert.client_id === client && alert.tenant === 'demo');
      expect(forClient).toHaveLength(1);
      // The two uses (CLIENT_LOGIN, CLIENT_LOGIN_ERROR) and the warning between them (tenant and client unknown).
      expect(forClient[0]).toMatchObject({ alert_key: jti, event_count: 3 });
      expect(forClient[0]?.evidence).toMatchObject({ replayed_uses: 1, accepted_replays: 0, replay_reported_by_idp: true });
      const uses = events.filter((event) => event.assertion?.jti === jti);
      expect(uses.map((event) => [event.tenant, event.client_id, event.replay_reported ?? false])).toEqual([
        ['demo', client, false],
        ['unknown', 'unknown', true],
        ['demo', client, false],
      ]);
      expect(forClient[0]?.event_ids.sort()).toEqual(uses.map((event) => event.event_id).sort());
    });
  }

  it('raises nothing for a client whose assertions were each used once', () => {
    expect(alerts.filter((alert) => alert.tenant === 'demo' && alert.finding === 'jti_replay').map((alert) => alert.client_id).sort()).toEqual([
      'svc-jwt',
      'svc-secret-jwt',
    ]);
  });

  it("raises no second alert for the client-less warning (issuedFor 'null'): it is linked to the client that used its jti", () => {
    expect(alerts.filter((alert) => alert.tenant !== 'demo')).toEqual([]);
    expect(alerts.filter((alert) => alert.finding === 'jti_replay')).toHaveLength(2);
  });
});
