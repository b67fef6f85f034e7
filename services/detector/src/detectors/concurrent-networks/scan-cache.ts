import type { AsnSlots, ScanState } from './slots.js';

/**
 * concurrent_networks' memory of the past: per client, the scan of episodes() saved before one
 * day (its checkpoint), for the client and for each of its credentials, so a tick reads from the
 * client_asn_slots rollup only the days since, not the whole retained history. The past is
 * summarised exactly: the scan's state (the most ASNs of a run so far, the runs not yet joined,
 * an open burst), the scope's slots just before the day (runs that end after it read them) and
 * its first request (the learning period). The detector drops a client's checkpoint when a tick
 * brings a request older than it (a back-fill, a late IdP), when its settings or the allowlist
 * change, when a tick window leaves a gap in arrival time, and once a day (expired rollup days
 * then leave the baseline too).
 *
 * Bounded: at most `maxScopes` scopes and `maxSavedItems` saved items (a (slot, ASN) pair of the
 * saved slots, or a run not yet joined: at most a window's length of each per scope), least
 * recently used clients dropped first. A scope costs about 300 bytes, an item at most about 60,
 * so the defaults (50,000 scopes, 500,000 items) hold at most about 45 MB; with the default
 * 10-minute window a scope saves 2 slots and up to 4 runs, well under 1 KB.
 */
export interface ScopeCheckpoint {
  readonly state: ScanState;
  /** The scope's counted (slot, ASN) pairs in the `length - 1` slots before the checkpoint. */
  readonly tail: readonly AsnSlots[];
  /** The scope's first counted request before the checkpoint; Infinity: none. */
  readonly firstMs: number;
}

export interface ClientCheckpoint {
  /** YYYY-MM-DD: everything before this day is summarised; the scans stop before runs that end on it. */
  readonly day: string;
  /** The settings the scans used (window length, margin, learning days). */
  readonly rules: string;
  /** Run time (window.now) of the whole-history read this checkpoint descends from. */
  readonly builtAt: number;
  /** Per scope: '' the whole client, else a credential. */
  readonly scopes: ReadonlyMap<string, ScopeCheckpoint>;
}

export interface ScanCacheLimits {
  readonly maxScopes: number;
  readonly maxSavedItems: number;
}

export const DEFAULT_SCAN_CACHE_LIMITS: ScanCacheLimits = { maxScopes: 50_000, maxSavedItems: 500_000 };

export class ScanCache {
  private readonly clients = new Map<string, { checkpoint: ClientCheckpoint; items: number }>();
  private scopes = 0;
  private items = 0;

  constructor(private readonly limits: ScanCacheLimits = DEFAULT_SCAN_CACHE_LIMITS) {}

  /** The client's checkpoint, now the most recently used. */
  get(client: string): ClientCheckpoint | undefined {
    const entry = this.clients.get(client);
    if (!entry) return undefined;
    this.clients.delete(client);
    this.clients.set(client, entry);
    return entry.checkpoint;
  }

  /** Day of the client's checkpoint, without counting as a use. */
  dayOf(client: string): string | undefined {
    return this.clients.get(client)?.checkpoint.day;
  }

  set(client: string, checkpoint: ClientCheckpoint): void {
    this.delete(client);
    const items = [...checkpoint.scopes.values()].reduce((sum, scope) => sum + savedItems(scope), 0);
    // A client bigger than the whole cache (thousands of credentials or networks) is recomputed each tick.
    if (checkpoint.scopes.size > this.limits.maxScopes || items > this.limits.maxSavedItems) return;
    this.clients.set(client, { checkpoint, items });
    this.scopes += checkpoint.scopes.size;
    this.items += items;
    for (const [oldest] of this.clients) {
      if (this.scopes <= this.limits.maxScopes && this.items <= this.limits.maxSavedItems) break;
      this.delete(oldest);
    }
  }

  delete(client: string): void {
    const entry = this.clients.get(client);
    if (!entry) return;
    this.clients.delete(client);
    this.scopes -= entry.checkpoint.scopes.size;
    this.items -= entry.items;
  }

  clear(): void {
    this.clients.clear();
    this.scopes = 0;
    this.items = 0;
  }

  /** What it holds, against its limits. */
  get size(): { clients: number; scopes: number; savedItems: number } {
    return { clients: this.clients.size, scopes: this.scopes, savedItems: this.items };
  }
}

function savedItems(scope: ScopeCheckpoint): number {
  return scope.tail.reduce((sum, row) => sum + row.slots.length, 0) + scope.state.waiting.length;
}
