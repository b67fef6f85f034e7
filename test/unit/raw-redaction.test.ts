import { describe, expect, it } from 'vitest';
import { pickRaw, rawJson, RAW_ARRAY_LIMIT, RAW_STRING_LIMIT } from '@tokenwatch/ingest/formats/raw';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { canonicalFormat } from '@tokenwatch/ingest/formats/canonical';
import { oktaFormat } from '@tokenwatch/ingest/formats/okta';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { REDACTED } from '@tokenwatch/shared/redact';
import { canonicalEvent } from '../helpers/events.js';
import { readRow } from '../helpers/stored-row.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMtb3JkZXJzIn0.c2lnbmF0dXJlLXZhbHVl';
const BASIC = 'Basic c3ZjLW9yZGVyczpTdXAzci1TM2NyZXQ=';
const BEARER = 'Bearer mF_9.B5f-4.1JqM-opaque-access-token';

describe('pickRaw: the allowlist', () => {
  const record = {
    a: 'kept',
    b: 'dropped',
    nested: { x: 1, y: { z: true, other: 'dropped' }, other: 'dropped' },
    list: [{ ip: '192.0.2.1', secret: 'dropped' }, { ip: '192.0.2.2' }, 'not-an-object', { other: 'dropped' }],
    scopes: ['a', 'b', { c: 'dropped' }],
    nothing: null,
  };

  it('keeps nested fields, array items and nulls by path, and nothing else', () => {
    expect(pickRaw(record, ['a', 'nested.x', 'nested.y.z', 'list[].ip', 'scopes[]', 'nothing'])).toEqual({
      a: 'kept',
      nested: { x: 1, y: { z: true } },
      list: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }],
      scopes: ['a', 'b'],
      nothing: null,
    });
  });

  it('leaves out listed fields the record does not have, and empties to {}', () => {
    expect(pickRaw(record, ['missing', 'nested.missing', 'missing.deep[].x', 'a'])).toEqual({ a: 'kept' });
    expect(pickRaw(record, ['missing'])).toEqual({});
    expect(pickRaw(record, [])).toEqual({});
  });

  it('fails closed: an object or array where a path ends is dropped, never copied whole', () => {
    // Listing `nested` or `list` must not let their unlisted contents through.
    expect(pickRaw(record, ['nested', 'list', 'scopes'])).toEqual({});
    // And a scalar where the allowlist expects an object or array is dropped too.
    expect(pickRaw({ a: 'text', b: 'text' }, ['a.x', 'b[]'])).toEqual({});
  });

  it('reads own keys only: no prototype members, `__proto__` stays a plain key', () => {
    expect(pickRaw({}, ['constructor', 'toString'])).toEqual({});
    const polluted = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}') as Record<string, unknown>;
    const picked = pickRaw(polluted, ['__proto__.polluted', 'a']);
    expect(Object.getPrototypeOf(picked)).toBe(Object.prototype);
    expect(JSON.stringify(picked)).toBe('{"__proto__":{"polluted":"yes"},"a":1}');
  });

  it('rejects malformed paths (an adapter bug) instead of guessing', () => {
    expect(() => pickRaw({}, ['a..b'])).toThrow(/bad raw field path/);
    expect(() => pickRaw({}, ['a[0].b'])).toThrow(/bad raw field path/);
  });
});

describe('rawJson: redaction inside the allowlist', () => {
  it('redacts credential-looking strings in allowlisted fields', () => {
    const raw = JSON.parse(
      rawJson(
        { ua: `agent ${JWT}`, note: `Authorization: ${BASIC}`, why: `got ${BEARER}`, form: 'client_secret=abc123&x=1', ok: 'plain text' },
        ['ua', 'note', 'why', 'form', 'ok'],
      ),
    ) as Record<string, string>;
    expect(raw).toEqual({
      ua: `agent ${REDACTED}`,
      note: `Authorization: Basic ${REDACTED}`,
      why: `got Bearer ${REDACTED}`,
      form: `client_secret=${REDACTED}&x=1`,
      ok: 'plain text',
    });
  });

  it('redacts the value of a secret-named key even if an allowlist listed it', () => {
    expect(JSON.parse(rawJson({ details: { client_secret: 'abc', password: 'pw' } }, ['details.client_secret', 'details.password']))).toEqual({
      details: { client_secret: REDACTED, password: REDACTED },
    });
  });

  it('bounds long strings and long arrays, after redaction', () => {
    const raw = JSON.parse(rawJson({ s: `${JWT} ${'x'.repeat(RAW_STRING_LIMIT * 2)}`, list: Array.from({ length: 100 }, (_, i) => i) }, ['s', 'list[]'])) as {
      s: string;
      list: number[];
    };
    expect(raw.s).toHaveLength(RAW_STRING_LIMIT);
    expect(raw.s.startsWith(REDACTED)).toBe(true);
    expect(raw.list).toEqual(Array.from({ length: RAW_ARRAY_LIMIT }, (_, i) => i));
  });
});

describe('allowlists of the formats', () => {
  // Names that hold credentials or request contents whatever the vendor: no path may pass through them...
  const CONTAINER = /secret|password|passwd|cookie|^authori[sz]ation$|header|body|client_assertion|refresh_?token|access_?token|id_?token|api_?key|private_?key|uniquetokenidentifier|authenticationprocessingdetails/i;
  // ...nor end at them (`assertion.jti` picks a decoded claim; `assertion` itself would be the JWT).
  const LEAF = /^(assertion|token|code|code_verifier|subject_token|actor_token)$/i;

  it('no format lists a credential-bearing or free-form field', () => {
    for (const format of FORMATS) {
      for (const path of format.rawFields) {
        const segments = path.replace(/\[\]/g, '').split('.');
        for (const segment of segments) expect(segment, `${format.name}: ${path}`).not.toMatch(CONTAINER);
        expect(segments.at(-1), `${format.name}: ${path}`).not.toMatch(LEAF);
      }
      expect(() => pickRaw({}, format.rawFields), format.name).not.toThrow();
    }
  });

  it('okta lists debugData fields one by one, never debugData itself', () => {
    expect(oktaFormat.rawFields).not.toContain('debugContext.debugData');
    expect(oktaFormat.rawFields).toContain('debugContext.debugData.grantType');
    expect(canonicalFormat.rawFields).toEqual([]);
  });
});

describe('decodeMessage: the raw key of the stored line', () => {
  const decode = (input: string) => decodeMessage(input, { adapters: FORMATS, format: 'auto' });

  it('puts no raw key in a canonical line, even when the producer sent one', () => {
    for (const input of [canonicalEvent(1), { ...canonicalEvent(2), raw: `{"client_secret":"${JWT}"}` }]) {
      const [result] = decode(JSON.stringify(input));
      if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
      expect(result.raw).toBeUndefined();
      expect(readRow(result.line).raw).toBe('');
      expect(result.line).not.toContain(JWT);
    }
  });

  it('puts the redacted allowlisted copy of a vendor record into the line as a JSON string', () => {
    const record = {
      uuid: 'raw-okta-1',
      published: '2026-04-14T12:00:00.000Z',
      eventType: 'app.oauth2.as.token.grant.access_token',
      outcome: { result: 'SUCCESS' },
      actor: { id: '0oa1', type: 'PublicClientApp' },
      client: { ipAddress: '203.0.113.42', userAgent: { rawUserAgent: `curl/8 ${BEARER}` } },
      debugContext: { debugData: { grantType: 'client_credentials', requestBody: `client_assertion=${JWT}`, unknownNewField: 'x' } },
      brandNewTopLevel: { anything: 'y' },
    };
    const [result] = decode(JSON.stringify(record));
    if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
    const line = readRow(result.line) as { raw: string; event_id: string };
    expect(line.event_id).toBe('raw-okta-1');
    expect(line.raw).toBe(result.raw);
    expect(JSON.parse(line.raw)).toEqual({
      uuid: 'raw-okta-1',
      published: '2026-04-14T12:00:00.000Z',
      eventType: 'app.oauth2.as.token.grant.access_token',
      outcome: { result: 'SUCCESS' },
      actor: { id: '0oa1', type: 'PublicClientApp' },
      client: { ipAddress: '203.0.113.42', userAgent: { rawUserAgent: `curl/8 Bearer ${REDACTED}` } },
      debugContext: { debugData: { grantType: 'client_credentials' } },
    });
    expect(line.raw).not.toContain(JWT);
    expect(line.raw).not.toContain('mF_9');
  });

  it('adds raw beside the enrichment when the worker enriches', () => {
    const record = {
      source: 'oidc-provider',
      event: 'grant.success',
      time: '2026-11-28T01:02:03.456Z',
      issuer: 'https://auth.example.com',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      ip: '203.0.113.24',
      extra: 'dropped',
    };
    const [result] = decodeMessage(JSON.stringify(record), {
      adapters: FORMATS,
      format: 'auto',
      enrich: (event) => ({ ...event, enrichment: { geo_source: 'none', ip_scope: 'public', hosting_provider: '' } }),
    });
    if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
    const line = readRow(result.line);
    expect({ geo_source: line.geo_source, ip_scope: line.ip_scope, hosting_provider: line.hosting_provider }).toEqual({ geo_source: 'none', ip_scope: 'public', hosting_provider: '' });
    expect(JSON.parse(line.raw as string)).toEqual({
      source: 'oidc-provider',
      event: 'grant.success',
      time: '2026-11-28T01:02:03.456Z',
      issuer: 'https://auth.example.com',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      ip: '203.0.113.24',
    });
  });
});
