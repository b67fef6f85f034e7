import { describe, expect, it } from 'vitest';
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { buildTapEvent, buildValidTapEvent, CidrSet, decodeJwtUnverified, isReplayMessage, type ObservedExchange } from '@tokenwatch/tap';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SIGNATURE = 'U0lHTkFUVVJFLWJ5dGVzLW5vdC1hLXJlYWwtc2lnbmF0dXJl';
const SECRET = 'hunter2-s3cret-value';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
function jws(header: object, claims: object): string {
  return `${b64(header)}.${b64(claims)}.${SIGNATURE}`;
}
const CLAIMS = { iss: 'svc-orders', sub: 'svc-orders', aud: 'https://idp.example/token', jti: 'jti-123', iat: 1_764_291_723, exp: 1_764_291_783 };

function exchange(overrides: Partial<ObservedExchange> & { form?: Record<string, string> } = {}): ObservedExchange {
  const { form, ...rest } = overrides;
  return {
    eventId: 'evt-1',
    time: Date.UTC(2026, 10, 28, 3, 0, 0),
    tenant: 'https://idp.example',
    peerAddress: '198.51.100.7',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'okhttp/4.12.0' },
    body: Buffer.from(new URLSearchParams(form ?? { grant_type: 'client_credentials' }).toString()),
    status: 200,
    responseBody: '{"access_token":"opaque","token_type":"Bearer","expires_in":600}',
    trustedProxies: new CidrSet([]),
    ...rest,
  };
}

function assertionForm(alg: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER,
    client_assertion: jws({ alg, kid: 'key-1', typ: 'JWT' }, CLAIMS),
    scope: 'orders.read orders.write',
    ...extra,
  };
}

describe('buildTapEvent', () => {
  it('reads a private_key_jwt assertion into a valid canonical event', () => {
    const event = buildTapEvent(exchange({ form: assertionForm('ES256') }));
    expect(tokenRequestSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      event_id: 'evt-1',
      time: '2026-11-28T03:00:00.000Z',
      idp: 'generic',
      tenant: 'https://idp.example',
      client_id: 'svc-orders',
      grant_type: 'client_credentials',
      auth_method: 'private_key_jwt',
      outcome: 'success',
      source_ip: '198.51.100.7',
      user_agent: 'okhttp/4.12.0',
      scopes: ['orders.read', 'orders.write'],
      assertion: { ...CLAIMS, kid: 'key-1', alg: 'ES256' },
    });
    expect(event.error_code).toBeUndefined();
    expect(event.replay_reported).toBeUndefined();
  });

  it.each(['RS256', 'RS512', 'PS256', 'ES256', 'ES384', 'ES256K', 'EdDSA'])('classifies %s assertions as private_key_jwt', (alg) => {
    expect(buildTapEvent(exchange({ form: assertionForm(alg) })).auth_method).toBe('private_key_jwt');
  });

  it.each(['HS256', 'HS384', 'HS512'])('classifies %s assertions as client_secret_jwt', (alg) => {
    expect(buildTapEvent(exchange({ form: assertionForm(alg) })).auth_method).toBe('client_secret_jwt');
  });

  it('calls an assertion with alg none, or one that does not decode, unknown', () => {
    expect(buildTapEvent(exchange({ form: assertionForm('none') })).auth_method).toBe('unknown');
    const garbled = buildTapEvent(exchange({ form: { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: 'not-a-jwt' } }));
    expect(garbled.auth_method).toBe('unknown');
    expect(garbled.assertion).toBeUndefined();
  });

  it('takes the client_id from the assertion sub, then iss', () => {
    const onlyIss = { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: jws({ alg: 'RS256' }, { iss: 'from-iss', jti: 'j' }) };
    expect(buildTapEvent(exchange({ form: onlyIss })).client_id).toBe('from-iss');
    expect(buildTapEvent(exchange({ form: assertionForm('RS256', { client_id: 'form-id' }) })).client_id).toBe('svc-orders');
  });

  it('classifies Basic auth as client_secret_basic with the username as client_id, never the password', () => {
    // RFC 6749 §2.3.1: the id is form-encoded before base64.
    const basic = Buffer.from(`svc%3Abilling:${SECRET}`).toString('base64');
    const event = buildTapEvent(exchange({ headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` } }));
    expect(event.auth_method).toBe('client_secret_basic');
    expect(event.client_id).toBe('svc:billing');
    const json = JSON.stringify(event);
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain(basic);
    expect(json).not.toContain('authorization');
  });

  it('classifies a client_secret form field as client_secret_post and drops the secret', () => {
    const event = buildTapEvent(exchange({ form: { grant_type: 'client_credentials', client_id: 'svc-post', client_secret: SECRET } }));
    expect(event.auth_method).toBe('client_secret_post');
    expect(event.client_id).toBe('svc-post');
    expect(JSON.stringify(event)).not.toContain(SECRET);
  });

  it('classifies a request without client credentials as none', () => {
    const event = buildTapEvent(exchange({ form: { grant_type: 'client_credentials', client_id: 'public-app' } }));
    expect(event.auth_method).toBe('none');
    expect(event.client_id).toBe('public-app');
  });

  it('never puts the assertion, its signature or a secret into the event', () => {
    const form = assertionForm('HS256', { client_secret: SECRET });
    const json = JSON.stringify(buildTapEvent(exchange({ form })));
    expect(json).not.toContain(SIGNATURE);
    expect(json).not.toContain(form.client_assertion);
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain('eyJ');
  });

  it('maps the response status to the outcome and the OAuth error to error_code', () => {
    const failed = buildTapEvent(exchange({ form: assertionForm('RS256'), status: 401, responseBody: '{"error":"invalid_client","error_description":"client authentication failed"}' }));
    expect(failed).toMatchObject({ outcome: 'failure', error_code: 'invalid_client' });
    expect(failed.replay_reported).toBeUndefined();
    expect(buildTapEvent(exchange({ status: 204, responseBody: '' })).outcome).toBe('success');
    expect(buildTapEvent(exchange({ status: 302, responseBody: '' })).outcome).toBe('failure');
    expect(buildTapEvent(exchange({ status: 500, responseBody: '<html>oops</html>' })).error_code).toBeUndefined();
  });

  it.each([
    ['node-oidc-provider', '{"error":"invalid_client","error_description":"client assertion tokens must only be used once"}'],
    ['Keycloak', '{"error":"invalid_client","error_description":"Client authentication with signed JWT failed: Token reuse detected"}'],
    ['Keycloak (already used)', '{"error":"invalid_client","error_description":"Token already used"}'],
    ['Hydra', '{"error":"jti_known","error_description":"The jti was already used."}'],
  ])('reports a replay in a %s answer', (_idp, body) => {
    const event = buildTapEvent(exchange({ form: assertionForm('RS256'), status: 400, responseBody: body }));
    expect(event.replay_reported).toBe(true);
    expect(event.outcome).toBe('failure');
  });

  it('does not report a replay for a success or an unrelated error', () => {
    expect(isReplayMessage('client authentication failed')).toBe(false);
    expect(isReplayMessage('invalid_client')).toBe(false);
    const ok = buildTapEvent(exchange({ status: 200, responseBody: '{"error_description":"already used"}' }));
    expect(ok.replay_reported).toBeUndefined();
  });

  it('marks the claims of an assertion the IdP refused as unverified, and of one it answered with a token not', () => {
    expect(buildTapEvent(exchange({ form: assertionForm('ES256') })).assertion_unverified).toBeUndefined();
    for (const status of [400, 401, 500]) {
      const refused = buildTapEvent(exchange({ form: assertionForm('ES256'), status, responseBody: '{"error":"invalid_client"}' }));
      expect(refused).toMatchObject({ outcome: 'failure', assertion: { jti: 'jti-123', sub: 'svc-orders' }, assertion_unverified: true });
      expect(tokenRequestSchema.safeParse(refused).success).toBe(true);
    }
    // Another credential beside the assertion: the token may be for that one.
    const withSecret = buildTapEvent(exchange({ form: assertionForm('ES256', { client_secret: SECRET }) }));
    expect(withSecret.assertion_unverified).toBe(true);
    const withBasic = buildTapEvent(exchange({ form: assertionForm('ES256'), headers: { ...exchange().headers, authorization: `Basic ${Buffer.from(`a:${SECRET}`).toString('base64')}` } }));
    expect(withBasic.assertion_unverified).toBe(true);
    // No assertion, no claims to doubt.
    expect(buildTapEvent(exchange({ status: 401 })).assertion_unverified).toBeUndefined();
  });

  it('ignores X-Forwarded-For by default', () => {
    const event = buildTapEvent(exchange({ peerAddress: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9' } }));
    expect(event.source_ip).toBe('10.0.0.5');
  });

  it('ignores X-Forwarded-For from a peer outside the trusted proxies', () => {
    const event = buildTapEvent(exchange({ peerAddress: '192.0.2.1', headers: { 'x-forwarded-for': '203.0.113.9' }, trustedProxies: new CidrSet(['10.0.0.0/8']) }));
    expect(event.source_ip).toBe('192.0.2.1');
  });

  it('takes the nearest untrusted X-Forwarded-For hop from a trusted proxy', () => {
    const trusted = new CidrSet(['10.0.0.0/8', '2001:db8::/32']);
    const spoofed = '1.2.3.4, 203.0.113.9, 10.1.1.1';
    expect(buildTapEvent(exchange({ peerAddress: '::ffff:10.0.0.5', headers: { 'x-forwarded-for': spoofed }, trustedProxies: trusted })).source_ip).toBe('203.0.113.9');
    expect(buildTapEvent(exchange({ peerAddress: '10.0.0.5', headers: { 'x-forwarded-for': '2001:db8:ffff::9, 10.2.2.2' }, trustedProxies: new CidrSet(['10.0.0.0/8']) })).source_ip).toBe('2001:db8:ffff::9');
    // Every hop trusted: the client is the leftmost.
    expect(buildTapEvent(exchange({ peerAddress: '10.0.0.5', headers: { 'x-forwarded-for': '10.3.3.3, 10.2.2.2' }, trustedProxies: trusted })).source_ip).toBe('10.3.3.3');
    expect(buildTapEvent(exchange({ peerAddress: '2001:db8::1', headers: { 'x-forwarded-for': '198.51.100.99' }, trustedProxies: trusted })).source_ip).toBe('198.51.100.99');
    // A garbled hop stops the walk at the last good address.
    expect(buildTapEvent(exchange({ peerAddress: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9, garbage' }, trustedProxies: trusted })).source_ip).toBe('10.0.0.5');
  });

  it('normalises an IPv4-mapped peer address', () => {
    expect(buildTapEvent(exchange({ peerAddress: '::ffff:198.51.100.7' })).source_ip).toBe('198.51.100.7');
  });

  it('does not decode a body that was too large to capture, or one that is not a form', () => {
    const big = buildTapEvent(exchange({ body: undefined }));
    expect(big).toMatchObject({ grant_type: 'unknown', client_id: 'unknown', auth_method: 'none' });
    const json = buildTapEvent(exchange({ headers: { 'content-type': 'application/json' }, body: Buffer.from(new URLSearchParams(assertionForm('RS256')).toString()) }));
    expect(json.assertion).toBeUndefined();
  });

  it('drops claims of the wrong type instead of failing the event', () => {
    const form = { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: jws({ alg: 'RS256', kid: 7 }, { sub: 'svc', jti: 'j', iat: 'yesterday', exp: 1.5, aud: ['a', 3] }) };
    const event = buildTapEvent(exchange({ form }));
    expect(event.assertion).toEqual({ sub: 'svc', jti: 'j', aud: ['a'], alg: 'RS256' });
    expect(tokenRequestSchema.safeParse(event).success).toBe(true);
  });
});

describe('buildValidTapEvent', () => {
  it('redacts credentials a caller put in free text before the event is published', () => {
    const secret = 'tap-leaked-secret-7781';
    const built = buildValidTapEvent(
      exchange({
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': `ci-bot (Authorization: Bearer ${secret})` },
        form: { grant_type: 'client_credentials', audience: `https://api.example/?client_secret=${secret}` },
      }),
    );
    if (!('event' in built)) throw new Error(built.error);
    expect(JSON.stringify(built.event)).not.toContain(secret);
    expect(built.event).toMatchObject({ user_agent: 'ci-bot (Authorization: Bearer [REDACTED])', audience: 'https://api.example/?client_secret=[REDACTED]' });
  });
});

describe('CidrSet', () => {
  it('rejects malformed ranges', () => {
    expect(() => new CidrSet(['10.0.0.0/33'], 'trusted proxy')).toThrow(/^invalid trusted proxy "10.0.0.0\/33"/);
    expect(() => new CidrSet(['not-an-ip'])).toThrow(/^invalid CIDR range "not-an-ip"/);
  });
});

describe('decodeJwtUnverified', () => {
  it('decodes header and claims and nothing else', () => {
    const decoded = decodeJwtUnverified(jws({ alg: 'RS256' }, CLAIMS));
    expect(decoded).toEqual({ header: { alg: 'RS256' }, claims: CLAIMS });
    expect(decodeJwtUnverified('a.b')).toBeUndefined();
  });
});
