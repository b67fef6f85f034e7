import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnricher, type Enricher } from '@tokenwatch/ingest/enrich/enricher';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, migrate } from '@tokenwatch/shared/storage/migrate';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { encodeTokenRequestRow } from '@tokenwatch/shared/storage/token-request-row';
import { decodeOne } from '../helpers/decode.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { MINIMAL_EVENT } from '../helpers/events.js';

// One embedded data directory for the whole file (chDB allows one per process).

const { event_id: _id, source_ip: _ip, ...required } = MINIMAL_EVENT;
const base = { ...required, time: '2026-11-28T02:02:03.456+01:00', assertion: { jti: 'jti-1', aud: ['a', 'b'] } };

describe('enrichment columns in storage (embedded chDB)', () => {
  const env = testEnv('enrichment-storage');
  const settings = settingsFrom(env);
  let clickhouse: ClickHouse;
  let enricher: Enricher;

  async function select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await clickhouse.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  /** The row line decodeCanonical makes of `input`, enriched when asked. */
  function line(input: object, enrich = true): string {
    const result = decodeOne(JSON.stringify({ ...base, ...input }));
    if (result.kind !== 'ok') throw new Error(`${JSON.stringify(input)} did not decode: ${result.reason}`);
    return enrich ? encodeTokenRequestRow(enricher.enrich(result.event)) : result.line;
  }

  const STORED = `SELECT event_id, toString(source_ip) AS ip, toString(time) AS time, assertion_aud, country, city, asn, as_org,
                         geo_source, ip_scope, hosting_provider
                  FROM token_requests FINAL WHERE event_id = {id:String}`;
  const stored = async (id: string) => (await select<Record<string, unknown>>(STORED, { id }))[0];

  beforeAll(async () => {
    clickhouse = await openClickHouse(settings);
    enricher = await openEnricher();
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('applies the migrations once', async () => {
    // Every migration the files hold (the storage test lists them by name).
    expect(await migrate(clickhouse.client, { retention_days: 90 })).toEqual({ applied: loadMigrations().map((migration) => migration.name) });
    expect(await migrate(clickhouse.client, { retention_days: 90 })).toEqual({ applied: [] });
  });

  it('adds the three columns to token_requests after the geo columns, with comments', async () => {
    const columns = await select<{ name: string; type: string; comment: string }>(
      "SELECT name, type, comment FROM system.columns WHERE database = currentDatabase() AND table = 'token_requests' ORDER BY position",
    );
    const names = columns.map((c) => c.name);
    expect(names.slice(names.indexOf('as_org'), names.indexOf('as_org') + 4)).toEqual(['as_org', 'geo_source', 'ip_scope', 'hosting_provider']);
    for (const name of ['geo_source', 'ip_scope', 'hosting_provider']) {
      const column = columns.find((c) => c.name === name);
      expect(column?.type, name).toBe('LowCardinality(String)');
      expect(column?.comment.length, name).toBeGreaterThan(10);
    }
  });

  it('stores what the enricher found for a public address with no IdP geo', async () => {
    await insertTokenRequests(clickhouse.client, [line({ event_id: 'en-lookup', source_ip: '8.8.8.8' })], { dedupToken: 'en-1' });
    const expected = enricher.lookup('8.8.8.8');
    expect(expected).toMatchObject({ country: 'US', asn: 15169 });
    expect(await stored('en-lookup')).toEqual({
      event_id: 'en-lookup',
      ip: '::ffff:8.8.8.8',
      time: '2026-11-28 01:02:03.456',
      assertion_aud: 'a b',
      country: 'US',
      city: '',
      asn: 15169,
      as_org: expected.as_org,
      geo_source: 'lookup',
      ip_scope: 'public',
      hosting_provider: 'Google',
    });
  });

  it('stores idp, mixed and none with the IdP geo winning', async () => {
    await insertTokenRequests(
      clickhouse.client,
      [
        line({ event_id: 'en-idp', source_ip: '5.9.0.1', geo: { country: 'AT', city: 'Wien', asn: 8447, as_org: 'A1 Telekom Austria AG' } }),
        line({ event_id: 'en-mixed', source_ip: '2a01:4f8::1', geo: { city: 'Nuremberg' } }),
        line({ event_id: 'en-private', source_ip: '10.20.30.40' }),
        line({ event_id: 'en-private-idp', source_ip: 'fd00::7', geo: { country: 'SE', asn: 16509 } }),
        line({ event_id: 'en-loopback', source_ip: '::ffff:127.0.0.1' }),
      ],
      { dedupToken: 'en-2' },
    );
    expect(await stored('en-idp')).toMatchObject({
      country: 'AT', city: 'Wien', asn: 8447, as_org: 'A1 Telekom Austria AG', geo_source: 'idp', ip_scope: 'public', hosting_provider: '',
    });
    expect(await stored('en-mixed')).toMatchObject({
      country: 'DE', city: 'Nuremberg', asn: 24940, geo_source: 'mixed', ip_scope: 'public', hosting_provider: 'Hetzner',
    });
    expect(await stored('en-private')).toMatchObject({
      country: '', city: '', asn: 0, as_org: '', geo_source: 'none', ip_scope: 'private', hosting_provider: '',
    });
    expect(await stored('en-private-idp')).toMatchObject({
      ip: 'fd00::7', country: 'SE', asn: 16509, geo_source: 'idp', ip_scope: 'private', hosting_provider: 'AWS',
    });
    expect(await stored('en-loopback')).toMatchObject({ geo_source: 'none', ip_scope: 'loopback', country: '', asn: 0 });
  });

  it('stores empty strings for lines without enrichment, and for elements the object leaves out', async () => {
    const decoded = decodeOne(JSON.stringify({ ...base, event_id: 'en-partial', source_ip: '10.0.0.1' }));
    if (decoded.kind !== 'ok') throw new Error('fixture');
    const partial = encodeTokenRequestRow({ ...decoded.event, enrichment: { geo_source: '', ip_scope: 'private' } });
    await insertTokenRequests(
      clickhouse.client,
      [line({ event_id: 'en-plain', source_ip: '8.8.8.8', geo: { country: 'US' } }, false), partial],
      { dedupToken: 'en-3' },
    );
    expect(await stored('en-plain')).toMatchObject({ country: 'US', asn: 0, geo_source: '', ip_scope: '', hosting_provider: '' });
    expect(await stored('en-partial')).toMatchObject({ geo_source: '', ip_scope: 'private', hosting_provider: '' });
  });
});
