/**
 * Sign-ins sent to the IdP and not yet back: what the callback must match (state), check (nonce)
 * and prove (the PKCE verifier). Each is taken once, so a replayed callback finds nothing; each
 * expires; the map is bounded, because anyone can start a sign-in (the oldest is dropped first:
 * a flood costs its senders' victims a retry, never the process its memory).
 */
export interface PendingSignIn {
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly expires: number;
}

/** Long enough to type a password and a second factor; short enough that a stolen state is stale. */
export const PENDING_SIGN_IN_TTL_MS = 10 * 60_000;

export class PendingSignIns {
  private readonly pending = new Map<string, PendingSignIn>();
  constructor(private readonly max = 1_000) {}

  add(state: string, entry: PendingSignIn, now: number): void {
    for (const [key, { expires }] of this.pending) if (expires <= now) this.pending.delete(key);
    while (this.pending.size >= this.max) {
      const oldest = this.pending.keys().next().value;
      if (oldest === undefined) break;
      this.pending.delete(oldest);
    }
    this.pending.set(state, entry);
  }

  /** The pending sign-in of this state, removed; undefined when unknown, used or expired. */
  take(state: string, now: number): PendingSignIn | undefined {
    const entry = this.pending.get(state);
    this.pending.delete(state);
    return entry && entry.expires > now ? entry : undefined;
  }

  get size(): number {
    return this.pending.size;
  }
}
