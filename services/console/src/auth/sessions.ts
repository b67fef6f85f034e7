import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  /** The cookie value: 256 random bits. */
  readonly id: string;
  readonly user: string;
  /** Sent back in the X-CSRF-Token header of every state-changing request. */
  readonly csrf: string;
  readonly created: number;
  lastSeen: number;
}

export interface SessionLimits {
  /** A session unused this long ends (an abandoned laptop). */
  readonly idleMs: number;
  /** Any session ends this long after sign-in (a shift, then sign in again). */
  readonly maxAgeMs: number;
  /** Live sessions at most; the oldest is ended to make room. */
  readonly max: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 8 * 3_600_000, maxAgeMs: 24 * 3_600_000, max: 1_000 };

/**
 * Console sessions, in the process's memory: a restart signs everyone out, which is the safe
 * failure for a security tool (a new link is one command away). Not shared between replicas.
 */
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  constructor(private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS) {}

  create(user: string, now: number): Session {
    this.prune(now);
    while (this.sessions.size >= this.limits.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const session: Session = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(32).toString('base64url'), created: now, lastSeen: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session of this cookie value, touched; undefined when unknown or expired. */
  get(id: string | undefined, now: number): Session | undefined {
    if (id === undefined || id.length !== 43) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeen > this.limits.idleMs || now - session.created > this.limits.maxAgeMs;
  }

  private prune(now: number): void {
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }
}

/** Constant-time comparison of the CSRF header with the session's token. */
export function csrfMatches(session: Session, header: string | undefined): boolean {
  if (header === undefined) return false;
  const given = Buffer.from(header);
  const expected = Buffer.from(session.csrf);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
