import { HOUR_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import type { Client } from './population.js';

/**
 * What a client asks for and runs, beyond its fixed identity: the scopes of each request, the
 * version of its HTTP library, and the attacks and benign look-alikes on both (new_scope,
 * new_user_agent).
 *
 * Benign look-alikes, all deterministic from the client and the time (no draws from the
 * client's random stream, which would change every other request of the simulation):
 * - scopes varying inside a set: a client with two scopes that asks at least hourly requests
 *   only the first in about a third of its minutes;
 * - library upgrades: a CI job's or partner's user agent is its library alone, and the library's
 *   patch version follows the client's deploys (okhttp/4.12.0, okhttp/4.12.3, ...);
 * - a deploy that adds a scope, with an allowlist entry announcing it (scopeDeploy).
 */

/** Whether the client's scopes vary inside its set (it must ask often enough to show the whole set while learning). */
export const variesScopes = (client: Client): boolean => client.scopes.length > 1 && client.meanPerMinute >= 1 / 60 && client.tenant.idp !== 'entra';

/** The scopes of a request at `time`: a fixed hash of the minute picks the subset, a third of the time. */
export function scopesAt(client: Client, time: number, added: readonly string[]): readonly string[] {
  const base = variesScopes(client) && (Math.imul(Math.floor(time / MINUTE_MS), 2_654_435_761) >>> 0) % 3 === 0 ? client.scopes.slice(0, 1) : client.scopes;
  return added.length === 0 ? base : [...base, ...added];
}

/** The library with its patch version raised by `patches` (its first `/version` only). */
export function upgraded(library: string, patches: number): string {
  if (patches === 0) return library;
  const slash = library.indexOf('/');
  if (slash < 0) return library;
  let end = library.indexOf(' ', slash);
  if (end < 0) end = library.length;
  const parts = library.slice(slash + 1, end).split('.');
  const last = Number(parts[parts.length - 1]);
  if (!Number.isInteger(last)) return library;
  parts[parts.length - 1] = String(last + patches);
  return `${library.slice(0, slash + 1)}${parts.join('.')}${library.slice(end)}`;
}

/** The scope a new_scope attack asks for: an admin or export scope of the victim's IdP. */
export function sensitiveScopeFor(client: Client): string {
  switch (client.tenant.idp) {
    case 'okta':
      return 'okta.users.manage';
    case 'auth0':
      return 'read:users';
    default:
      return `${client.scopes[0]?.split(':')[0] ?? 'api'}:export`;
  }
}

/** Whether a new_scope attack on the client is visible: its IdP logs the granted scopes. */
export const suitsNewScope = (client: Client): boolean => client.tenant.idp !== 'entra' && client.schedule.type !== 'calendar';

/** Whether a new_user_agent attack on the client is visible: its IdP logs the user agent. */
export const suitsNewUserAgent = (client: Client): boolean =>
  (client.tenant.idp === 'okta' || client.tenant.idp === 'auth0' || client.tenant.idp === 'oidc-provider') && client.schedule.type !== 'calendar';

/** A deploy that adds a scope to a client, announced by an allowlist entry in the detectors' configuration. */
export interface ScopeDeploy {
  readonly client: number;
  readonly at: number;
  readonly scope: string;
  /** The allowlist entry the team would add with the deploy (the `detectors.allowlist` shape of the configuration file). */
  readonly allowlist: { readonly findings: readonly string[]; readonly tenant: string; readonly client_id: string; readonly expires: string; readonly reason: string };
}

/**
 * One scope-adding deploy per simulation: on the first client (in population order) that asks
 * at least hourly, logs scopes and is no attack's victim, `atDays` into the simulation.
 */
export function planScopeDeploy(clients: readonly Client[], victims: ReadonlySet<number>, start: number, end: number, atDays: number): ScopeDeploy | undefined {
  const at = start + atDays * 24 * HOUR_MS + 10 * HOUR_MS;
  if (at >= end) return undefined;
  const client = clients.find((candidate) => !victims.has(candidate.index) && suitsNewScope(candidate) && candidate.meanPerMinute >= 1 / 60);
  if (!client) return undefined;
  const scope = `${client.scopes[0]?.split(':')[0] ?? 'api'}:reports`;
  return {
    client: client.index,
    at,
    scope,
    allowlist: {
      findings: ['new_scope'],
      tenant: client.tenant.tenant,
      client_id: client.clientId,
      expires: new Date(end + 30 * 24 * HOUR_MS).toISOString().slice(0, 10),
      reason: `release adds ${scope} (simulated deploy)`,
    },
  };
}
