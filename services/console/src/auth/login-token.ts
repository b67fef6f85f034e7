import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * One-time login links, as a notebook server prints them: `tokenwatch console --user <name>`
 * signs a short-lived token with the console key (console-key.ts), and the running process
 * accepts each token once. Signing instead of asking the running process for a token means the
 * CLI needs only what the process itself reads (the key), not a way to reach it.
 *
 * Format: base64url(JSON claims) "." base64url(HMAC-SHA256(key, claims part)).
 */

/** A person's name as the audit trail shows it: letters, digits and . _ @ -, up to 64. */
export const userNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'expected 1 to 64 letters, digits or . _ @ - (a user name, e.g. alice or alice@example.com)');

/** How long a printed link works: long enough to paste it, short enough that an old terminal scroll-back is useless. */
export const LOGIN_TOKEN_TTL_MS = 5 * 60_000;

/** Anything longer is not a token this code signed: refused before any work. */
const MAX_TOKEN_CHARS = 512;

const claimsSchema = z.strictObject({
  u: userNameSchema,
  /** Expiry, epoch ms. */
  e: z.number().int().positive(),
  /** A random id: what makes the token one-time. */
  n: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
});

export function signLoginToken(key: Buffer, user: string, now: number): string {
  const claims = { u: userNameSchema.parse(user), e: now + LOGIN_TOKEN_TTL_MS, n: randomBytes(16).toString('base64url') };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(key, body)}`;
}

export type LoginTokenCheck = { readonly ok: true; readonly user: string; readonly id: string; readonly expires: number } | { readonly ok: false; readonly reason: string };

/** Checks signature and expiry; says why a token is refused (the reason goes to the log, never the token). */
export function verifyLoginToken(key: Buffer, token: string, now: number): LoginTokenCheck {
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'too long' };
  const [body, signature, extra] = token.split('.');
  if (body === undefined || signature === undefined || extra !== undefined) return { ok: false, reason: 'not a login token' };
  const expected = Buffer.from(mac(key, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature (another key, or altered)' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'unreadable claims' };
  }
  const claims = claimsSchema.safeParse(decoded);
  if (!claims.success) return { ok: false, reason: 'unreadable claims' };
  if (claims.data.e <= now) return { ok: false, reason: 'expired' };
  return { ok: true, user: claims.data.u, id: claims.data.n, expires: claims.data.e };
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

/**
 * The ids of tokens already used, until they expire: a token works once per process. The set is
 * bounded (a key holder could mint millions); when it is full, logins wait for old ids to expire.
 */
export class RedeemedTokens {
  private readonly used = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  /** True the first time an unexpired id is seen. */
  redeem(id: string, expires: number, now: number): boolean {
    for (const [seen, until] of this.used) if (until <= now) this.used.delete(seen);
    if (this.used.has(id) || this.used.size >= this.max) return false;
    this.used.set(id, expires);
    return true;
  }
}
