import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import type { DecodeResult } from '@tokenwatch/ingest/results';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { canonicalEvent } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// One embedded data directory for the whole file (chDB allows one per process).

type Ok = Extract<DecodeResult, { kind: 'ok' }>;
const fixture = (path: string) => readFileSync(new URL(`../fixtures/formats/${path}`, import.meta.url), 'utf8');
function decodeAll(input: string): Ok[] {
  const results = decodeMessage(input, { adapters: FORMATS, format: 'auto' });
  const oks = results.filter((result): result is Ok => result.kind === 'ok');
  if (oks.length === 0) throw new Error(`no event in ${input.slice(0, 80)}: ${JSON.stringify(results)}`);
  return oks;
}

describe('raw column in storage (embedded chDB)', () => {
  const env = testEnv('raw-storage');
  let clickhouse: ClickHouse;

  async function select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }
  const rawOf = async (id: string) =>
    (await select<{ raw: string }>('SELECT raw FROM token_requests FINAL WHERE event_id = {id:String}', { id }))[0]?.raw;

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(env));
    // The fixtures are from April 2026: keep them past a 90-day TTL.
    await migrate(clickhouse.client, { retention_days: 3650 });
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('has a ZSTD-compressed String raw column in token_requests', async () => {
    const columns = await select<{ table: string; type: string; compression_codec: string; comment: string }>(
      `SELECT table, type, compression_codec, comment FROM system.columns
       WHERE database = currentDatabase() AND name = 'raw' AND table = 'token_requests'`,
    );
    expect(columns.map(({ table, type }) => ({ table, type }))).toEqual([{ table: 'token_requests', type: 'String' }]);
    expect(columns[0]?.compression_codec).toBe('CODEC(ZSTD(3))');
    expect(columns[0]?.comment).toMatch(/allowlisted, redacted/);
  });

  it('stores each vendor event with its raw copy, byte for byte, without the fixture secrets', async () => {
    const events = [
      ...decodeAll(fixture('okta/secrets-in-debugdata.json')),
      ...decodeAll(fixture('auth0/secrets-in-details.json')),
      ...decodeAll(fixture('entra/secrets-stuffed.json')),
      ...decodeAll(fixture('cognito/secrets-stuffed.json')),
      ...decodeAll(fixture('oidc-provider/grant-error-replay.json')),
      ...decodeAll(fixture('keycloak/jboss-logging.log').split('\n')[0] as string),
    ];
    expect(events).toHaveLength(6);
    await insertTokenRequests(clickhouse.client, events.map((event) => event.line), { dedupToken: 'raw-vendors' });
    for (const event of events) {
      expect(typeof event.raw).toBe('string');
      const stored = await rawOf(event.event.event_id);
      expect(stored, event.event.idp).toBe(event.raw);
      expect(JSON.parse(stored as string)).toBeTypeOf('object');
    }
    expect(JSON.parse((await rawOf('f1b3d5e7-3b70-11f1-9a2b-0d4e6f8a1c3e')) as string)).toMatchObject({
      eventType: 'app.oauth2.as.token.grant.access_token',
      debugContext: { debugData: { grantType: 'client_credentials', clientAuthType: 'client_secret_basic' } },
    });

    const everything = (await select<{ raw: string }>('SELECT raw FROM token_requests FINAL')).map((row) => row.raw).join('\n');
    for (const secret of [
      'okta-SECRET-q8Zt3VwXy5Rb1Nc7Md2Ke9',
      'auth0-SECRET-h4Jk8Lm2Np6Qr0St3Uv7Wx',
      'SuperSecretValue-never-log',
      'c2lnbmF0dXJlLW5ldmVyLWxvZw',
      'b2t0YS1zZWNyZXQtc2lnbmF0dXJl',
      'YXV0aDAtc2VjcmV0LXNpZ25hdHVyZQ',
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('leaves raw empty for canonical events, whatever raw a producer sent', async () => {
    const [plain] = decodeAll(JSON.stringify(canonicalEvent(1)));
    const [sneaky] = decodeAll(JSON.stringify({ ...canonicalEvent(2), raw: '{"client_secret":"hunter2-raw"}' }));
    await insertTokenRequests(clickhouse.client, [(plain as Ok).line, (sneaky as Ok).line], { dedupToken: 'raw-canonical' });
    expect(await rawOf('evt-1')).toBe('');
    expect(await rawOf('evt-2')).toBe('');
  });
});
