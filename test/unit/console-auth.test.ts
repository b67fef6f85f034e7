import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedeemedTokens, signLoginToken, verifyLoginToken, LOGIN_TOKEN_TTL_MS } from '@tokenwatch/console/auth/login-token';
import { csrfMatches, Sessions } from '@tokenwatch/console/auth/sessions';

const key = randomBytes(32);
const now = Date.UTC(2026, 10, 30, 12);

describe('console login links', () => {
  it('accept their own token once, within five minutes, for the user they name', () => {
    const token = signLoginToken(key, 'alice@example.com', now);
    const check = verifyLoginToken(key, token, now + LOGIN_TOKEN_TTL_MS - 1);
    expect(check).toMatchObject({ ok: true, user: 'alice@example.com' });
    const redeemed = new RedeemedTokens();
    if (!check.ok) throw new Error('unreachable');
    expect(redeemed.redeem(check.id, check.expires, now)).toBe(true);
    expect(redeemed.redeem(check.id, check.expires, now + 1)).toBe(false);
  });

  it('refuse expired, altered, foreign-key, oversized and malformed tokens, saying why', () => {
    const token = signLoginToken(key, 'alice', now);
    expect(verifyLoginToken(key, token, now + LOGIN_TOKEN_TTL_MS)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyLoginToken(randomBytes(32), token, now)).toEqual({ ok: false, reason: 'bad signature (another key, or altered)' });
    const [body, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(body, 'base64url').toString().replace('alice', 'admin')).toString('base64url');
    expect(verifyLoginToken(key, `${forged}.${signature}`, now)).toMatchObject({ ok: false, reason: 'bad signature (another key, or altered)' });
    expect(verifyLoginToken(key, 'x'.repeat(513), now)).toEqual({ ok: false, reason: 'too long' });
    expect(verifyLoginToken(key, 'a.b.c', now)).toEqual({ ok: false, reason: 'not a login token' });
    expect(() => signLoginToken(key, 'alice; rm -rf /', now)).toThrow(/expected 1 to 64 letters/);
  });

  it('keep a bounded memory of used tokens', () => {
    const redeemed = new RedeemedTokens(2);
    expect(redeemed.redeem('a', now + 10, now)).toBe(true);
    expect(redeemed.redeem('b', now + 10, now)).toBe(true);
    expect(redeemed.redeem('c', now + 10, now)).toBe(false); // full: wait for expiry
    expect(redeemed.redeem('c', now + 30, now + 10)).toBe(true); // a and b expired
  });
});

describe('console sessions', () => {
  it('end after idling, after their maximum age, and make room by ending the oldest', () => {
    const sessions = new Sessions({ idleMs: 1_000, maxAgeMs: 5_000, max: 2 });
    const first = sessions.create('alice', now);
    expect(sessions.get(first.id, now + 900)?.user).toBe('alice');
    expect(sessions.get(first.id, now + 1_901)).toBeUndefined(); // idle 1,001 ms
    const second = sessions.create('bob', now);
    for (let t = 900; t < 5_000; t += 900) expect(sessions.get(second.id, now + t)).toBeDefined();
    expect(sessions.get(second.id, now + 5_001)).toBeUndefined(); // too old, however busy
    const a = sessions.create('a', now);
    sessions.create('b', now);
    sessions.create('c', now);
    expect(sessions.get(a.id, now)).toBeUndefined();
    expect(sessions.size).toBe(2);
  });

  it('compare the CSRF header in full', () => {
    const session = new Sessions().create('alice', now);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, session.csrf.slice(0, -1))).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, `${session.csrf.slice(0, -1)}${session.csrf.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
  });
});
