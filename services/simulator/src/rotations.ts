import { createHash } from 'node:crypto';
import { DAY_MS, HOUR_MS } from '@tokenwatch/shared/time';
import { ATTACK_FREE_DAYS } from './attacks.js';
import type { Client } from './population.js';

/**
 * Benign look-alike of new_credential: a routine key rotation (a new credential from the
 * client's usual hosts; the old one stops). Clients rotate on their own every 30 to 90 days,
 * which a short simulation may never show; so one in five clients whose IdP logs credentials
 * (Entra's key id, the tap's kid) and that mints at least daily also rotates once after the
 * attack-free days, when new_credential judges it (its learning period is over).
 */
export function plannedRotation(client: Client, simulationStart: number): number | undefined {
  const named = client.tenant.idp === 'entra' || (client.tenant.idp === 'oidc-provider' && client.assertion !== undefined);
  if (!named || client.schedule.type === 'calendar' || client.index % 5 !== 2) return undefined;
  // Spread over the two days after the attack-free days, by the client's index (no random draw:
  // the rest of the client's stream stays what it was).
  return simulationStart + ATTACK_FREE_DAYS * DAY_MS + ((client.index * 7) % 48) * HOUR_MS;
}

/** The next credential id after a rotation, derived from the current one (no random draw). */
export function rotatedCredentialId(current: string): string {
  const hex = createHash('sha256').update(`rotated:${current}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
