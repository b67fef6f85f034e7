import { describe, expect, it } from 'vitest';
import { decodeCanonical, decodeMessage } from '@tokenwatch/ingest/decode';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { REDACTED, redactBytes, redactStrings, redactText, redactValue } from '@tokenwatch/shared/redact';
import { canonicalEvent } from '../helpers/events.js';

// A syntactically real compact JWS (header {"alg":"RS256","typ":"JWT"}).
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdmMtb3JkZXJzIiwic3ViIjoic3ZjLW9yZGVycyIsImp0aSI6ImFiYyJ9.c2lnbmF0dXJlLWJ5dGVz';
const BASIC = 'c3ZjLW9yZGVyczpodW50ZXIyLXNlY3JldA=='; // base64("svc-orders:hunter2-secret")
const SECRET = 'hunter2-secret';

describe('redactText', () => {
  it('removes a form-encoded client_secret and keeps the other parameters', () => {
    const out = redactText(`grant_type=client_credentials&client_id=svc-orders&client_secret=${SECRET}&scope=orders.read`);
    expect(out).toBe(`grant_type=client_credentials&client_id=svc-orders&client_secret=${REDACTED}&scope=orders.read`);
  });

  it('removes a client_assertion JWT from a form body', () => {
    const out = redactText(
      `client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${JWT}&client_id=svc`,
    );
    expect(out).not.toContain('eyJ');
    expect(out).toContain('client_id=svc');
    expect(out).toContain('client_assertion_type=urn%3Aietf');
  });

  it('removes credentials embedded in a URL', () => {
    expect(redactText('fetch failed for https://alerts:s3cr3t-pw@hooks.example/in and http://u@x.example')).toBe(
      'fetch failed for https://[REDACTED]@hooks.example/in and http://[REDACTED]@x.example',
    );
  });

  it('removes JWTs anywhere in free text', () => {
    const out = redactText(`token exchange failed for ${JWT} at the gateway`);
    expect(out).toBe(`token exchange failed for ${REDACTED} at the gateway`);
  });

  it('removes a JWT without a signature part', () => {
    const unsigned = JWT.slice(0, JWT.lastIndexOf('.') + 1);
    expect(redactText(`x ${unsigned} y`)).toBe(`x ${REDACTED} y`);
  });

  it.each([
    ['Basic', `Authorization: Basic ${BASIC}`],
    ['Bearer', 'Authorization: Bearer 2YotnFZFEjr1zCsicMWpAA'],
    ['lower-case bearer', 'authorization: bearer 2YotnFZFEjr1zCsicMWpAA'],
  ])('removes the credentials of an Authorization %s header, keeping the scheme', (_kind, header) => {
    const out = redactText(header);
    expect(out).toBe(header.replace(/^(\w+: \w+) .*$/, `$1 ${REDACTED}`));
    expect(out).not.toContain(BASIC);
    expect(out).not.toContain('2YotnFZFEjr1zCsicMWpAA');
  });

  it.each([
    ['password', `username=svc&password=${SECRET}&x=1`, `username=svc&password=${REDACTED}&x=1`],
    ['refresh_token', `grant_type=refresh_token&refresh_token=${SECRET}&client_id=c`, `grant_type=refresh_token&refresh_token=${REDACTED}&client_id=c`],
    ['access_token', `access_token=${SECRET}`, `access_token=${REDACTED}`],
    ['JSON-style client_secret', `{"client_secret":"${SECRET}","client_id":"svc"}`, `{"client_secret":"${REDACTED}","client_id":"svc"}`],
    ['JSON-style password with spaces around the colon', `{"password" : "${SECRET}"}`, `{"password" : "${REDACTED}"}`],
    ['log-style client_secret', `client_secret: ${SECRET} rejected`, `client_secret: ${REDACTED} rejected`],
  ])('removes %s', (_kind, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it('leaves text without secrets exactly as it was', () => {
    const clean = 'client_id=svc-orders&grant_type=client_credentials&scope=orders.read jti=abc-123';
    expect(redactText(clean)).toBe(clean);
  });

  it('keeps non-secret fields that merely end in "code" (error_code) intact', () => {
    const line = '{"client_id":"svc","outcome":"failure","error_code":"invalid_client"}';
    expect(redactText(line)).toBe(line);
  });

  it('removes the whole client_secret value even when it contains a space', () => {
    const out = redactText('{"client_secret": "correct horse battery staple"}');
    expect(out).not.toMatch(/horse|battery|staple/);
  });

  // Found by the decoder fuzz test: the cookie's value was the key of the next pair.
  it('removes a value chained to a secret value that was itself a key', () => {
    expect(redactText('cookies= "password": "hunter2x"[')).toBe(`cookies= "${REDACTED}"[`);
    expect(redactText('cookie= refresh_token: hunter2x tail')).toBe(`cookie= ${REDACTED} tail`);
    expect(redactText('{"token":"x","a":"b"}')).toBe(`{"token":"${REDACTED}","a":"b"}`);
  });
});

describe('redactValue', () => {
  it('redacts secret keys and keeps the rest', () => {
    expect(
      redactValue({
        client_id: 'svc-orders',
        client_secret: SECRET,
        client_assertion: JWT,
        password: 'pw-1',
        refresh_token: 'rt-1',
        grant_type: 'client_credentials',
      }),
    ).toEqual({
      client_id: 'svc-orders',
      client_secret: REDACTED,
      client_assertion: REDACTED,
      password: REDACTED,
      refresh_token: REDACTED,
      grant_type: 'client_credentials',
    });
  });

  it('matches secret keys whatever their case and separators', () => {
    expect(redactValue({ 'Client-Secret': 'a', clientSecret: 'b', CLIENT_SECRET: 'c', Authorization: 'Token xyz' })).toEqual({
      'Client-Secret': REDACTED,
      clientSecret: REDACTED,
      CLIENT_SECRET: REDACTED,
      Authorization: REDACTED,
    });
  });

  it('walks an `assertion` object instead of dropping it: jti and other claims stay', () => {
    const claims = { jti: 'jti-42', iat: 1_764_244_800, exp: 1_764_245_100, kid: 'key-1', iss: 'svc-orders' };
    expect(redactValue({ client_id: 'svc', assertion: claims })).toEqual({ client_id: 'svc', assertion: claims });
  });

  it('redacts an `assertion` that is the JWT itself', () => {
    expect(redactValue({ assertion: JWT })).toEqual({ assertion: REDACTED });
  });

  it('redacts secrets in nested objects and arrays, and JWTs or credentials in any string', () => {
    const out = redactValue({
      request: { headers: { authorization: `Basic ${BASIC}`, 'user-agent': 'okhttp/4.12.0' }, body: { client_secret: SECRET } },
      notes: [`saw ${JWT}`, 'fine'],
      message: `retry with Bearer ${SECRET}`,
    });
    expect(out).toEqual({
      request: { headers: { authorization: REDACTED, 'user-agent': 'okhttp/4.12.0' }, body: { client_secret: REDACTED } },
      notes: [`saw ${REDACTED}`, 'fine'],
      message: `retry with Bearer ${REDACTED}`,
    });
  });

  it('redacts non-string scalars under secret keys', () => {
    expect(redactValue({ password: 12345678, secret: true })).toEqual({ password: REDACTED, secret: REDACTED });
  });

  it('redacts a secret key holding an array of strings (e.g. a repeated form parameter)', () => {
    expect(JSON.stringify(redactValue({ client_secret: [SECRET], password: ['pw-1', 'pw-2'] }))).not.toMatch(/hunter2|pw-1|pw-2/);
  });

  it('does not modify its input', () => {
    const input = { client_secret: SECRET, nested: { password: 'pw' } };
    redactValue(input);
    expect(input).toEqual({ client_secret: SECRET, nested: { password: 'pw' } });
  });
});

describe('redactBytes', () => {
  it('returns the very same bytes and changed=false for clean JSON, whitespace included', () => {
    const bytes = Buffer.from('{ "client_id" : "svc-orders",  "assertion": {"jti": "jti-1"} }', 'utf8');
    const result = redactBytes(bytes);
    expect(result.changed).toBe(false);
    expect(result.bytes).toBe(bytes);
  });

  it('returns the very same bytes for clean non-JSON text', () => {
    const bytes = Buffer.from('{"event_id": "broken-1", "client_id": ', 'utf8');
    const result = redactBytes(bytes);
    expect(result.changed).toBe(false);
    expect(result.bytes).toBe(bytes);
  });

  it('re-serialises JSON with secrets redacted and reports the change', () => {
    const result = redactBytes(Buffer.from(JSON.stringify({ client_id: 'svc', client_secret: SECRET, assertion: { jti: 'j-1' } })));
    expect(result.changed).toBe(true);
    expect(JSON.parse(result.bytes.toString('utf8'))).toEqual({ client_id: 'svc', client_secret: REDACTED, assertion: { jti: 'j-1' } });
  });

  it('redacts secrets in text that is not valid JSON', () => {
    const text = `{"client_id": "svc", "client_secret": "${SECRET}", "client_assertion": "${JWT}"`;
    const result = redactBytes(Buffer.from(text));
    expect(result.changed).toBe(true);
    const out = result.bytes.toString('utf8');
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('eyJ');
    expect(out).toContain('"client_id": "svc"');
  });

  it('redacts an Authorization header line', () => {
    const result = redactBytes(Buffer.from(`POST /token\r\nAuthorization: Basic ${BASIC}\r\n`));
    expect(result.changed).toBe(true);
    expect(result.bytes.toString()).toBe(`POST /token\r\nAuthorization: Basic ${REDACTED}\r\n`);
  });
});

describe('redactStrings', () => {
  it('redacts every string at any depth and leaves keys, numbers and booleans alone', () => {
    const value = { a: `Bearer ${SECRET}-token`, list: ['fine', JWT], nested: { deep: [{ s: `client_secret=${SECRET}` }] }, n: 1, b: true, none: null };
    expect(redactStrings(value)).toEqual({
      a: `Bearer ${REDACTED}`,
      list: ['fine', REDACTED],
      nested: { deep: [{ s: `client_secret=${REDACTED}` }] },
      n: 1,
      b: true,
      none: null,
    });
    expect(value.a).toBe(`Bearer ${SECRET}-token`); // the input is not changed
  });

  it('returns what holds nothing to redact as the very same object', () => {
    const event = canonicalEvent(1);
    expect(redactStrings(event)).toBe(event);
    const changed = redactStrings({ ...event, user_agent: `x Bearer ${SECRET}-token` });
    expect(changed.scopes).toBe(event.scopes); // untouched branches are shared, not copied
  });

  it('finds what the quick pre-check lets through in any case', () => {
    for (const text of [`BEARER ${SECRET}-token`, `Client-Secret: ${SECRET}`, `PASSWORD=${SECRET}`, `x ${JWT} y`]) {
      expect(redactStrings({ text }).text, text).not.toContain(SECRET);
    }
  });
});

describe('decode redacts the free text of valid events before they are stored', () => {
  const poisoned = canonicalEvent(1, {
    client_name: `orders client_secret=${SECRET}`,
    user_agent: `curl/8.5 (Authorization: Bearer ${SECRET}-opaque)`,
    error_code: `code=${SECRET}`,
    audience: `https://api.example.com/?access_token=${SECRET}`,
    scopes: ['orders.read', JWT],
    credential_id: `Basic ${BASIC}`,
    assertion: { jti: JWT, iss: `password=${SECRET}`, aud: [`x ${JWT}`] },
    geo: { as_org: `Bearer ${SECRET}-isp` },
  });

  it('keeps no credential in the event or the stored line, whichever free-text field held it', () => {
    const [result] = decodeCanonical(JSON.stringify(poisoned));
    if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
    for (const output of [JSON.stringify(result.event), result.line]) {
      expect(output).not.toContain(SECRET);
      expect(output).not.toContain(BASIC);
      expect(output).not.toContain('eyJ');
    }
    expect(result.event).toMatchObject({
      client_name: `orders client_secret=${REDACTED}`,
      user_agent: `curl/8.5 (Authorization: Bearer ${REDACTED})`,
      scopes: ['orders.read', REDACTED],
      credential_id: `Basic ${REDACTED}`,
      assertion: { jti: REDACTED, iss: `password=${REDACTED}`, aud: [`x ${REDACTED}`] },
    });
  });

  it('leaves a clean event exactly as validated', () => {
    const [result] = decodeMessage(JSON.stringify(canonicalEvent(2)), { adapters: FORMATS, format: 'auto' });
    expect(result).toMatchObject({ kind: 'ok', event: { user_agent: 'okhttp/4.12.0', client_name: 'service 2' } });
  });
});
