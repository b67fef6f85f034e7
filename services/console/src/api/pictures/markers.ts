import { z } from 'zod';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';

/**
 * What a picture marks for an alert, read from its evidence: the new network, the burst's
 * ASNs, the new scope, the credential. `values` is what the picture's SQL matches rows by
 * (networks: `<asn>|<country>`; ASN slots: the ASN; traits: the value; credentials: the id);
 * `reason` is the caption's sentence saying what is marked and why. Evidence is read with
 * zod like any stored input: evidence of another shape marks nothing and the caption says so.
 */
export interface Markers {
  readonly values: string[];
  readonly reason: string;
}

const network = (asn: number, country: string) => `${asn}|${country}`;
/** More than a grid shows would mark nothing more. */
const MAX_MARKED = 40;

const newLocation = z.object({
  level: z.string(),
  new_location: z.object({ value: z.string(), asn: z.number(), country: z.string() }),
});
const woke = z.object({ woke: z.object({ asn: z.number(), country: z.string(), new_network: z.boolean() }) });
const burst = z.object({ burst_networks: z.array(z.object({ asn: z.number(), new_network: z.boolean() })) });
const newScopes = z.object({ new_scopes: z.array(z.object({ kind: z.string(), value: z.string() })) });
const newFamily = z.object({ new_family: z.string() });
const oneCredential = z.object({ credential_id: z.string().min(1) });
const watched = z.object({ watch: z.object({ credential_id: z.string() }), credentials: z.array(z.string()) });

const READERS: Record<string, (evidence: unknown) => Markers | undefined> = {
  secret_new_location(evidence) {
    const found = newLocation.safeParse(evidence);
    if (!found.success) return undefined;
    const { new_location: location, level } = found.data;
    return { values: [network(location.asn, location.country)], reason: `Marked: the new location ${location.value} (new at the ${level} level): the shared secret had not been used from it in the lookback.` };
  },
  dormant_client(evidence) {
    const found = woke.safeParse(evidence);
    if (!found.success) return undefined;
    const { asn, country, new_network } = found.data.woke;
    return { values: [network(asn, country)], reason: `Marked: AS${asn} ${country}, the network the client woke up from${new_network ? ', never used by it before' : ''}.` };
  },
  concurrent_networks(evidence) {
    const found = burst.safeParse(evidence);
    if (!found.success) return undefined;
    const fresh = found.data.burst_networks.filter((use) => use.new_network).map((use) => `AS${use.asn}`);
    return {
      values: found.data.burst_networks.map((use) => String(use.asn)),
      reason: `Marked: the ASNs of the burst${fresh.length > 0 ? ` (never used before: ${fresh.join(', ')})` : ''}.`,
    };
  },
  new_scope(evidence) {
    const found = newScopes.safeParse(evidence);
    if (!found.success) return undefined;
    const values = found.data.new_scopes.map((scope) => scope.value);
    return { values, reason: `Marked: ${values.join(', ')}, granted to the client for the first time.` };
  },
  new_user_agent(evidence) {
    const found = newFamily.safeParse(evidence);
    if (!found.success) return undefined;
    return { values: [found.data.new_family], reason: `Marked: ${found.data.new_family}, software the client never ran before.` };
  },
  new_credential(evidence) {
    const found = oneCredential.safeParse(evidence);
    return found.success ? { values: [found.data.credential_id], reason: `Marked: ${found.data.credential_id}, the credential the client never used before.` } : undefined;
  },
  stale_credential(evidence) {
    const found = oneCredential.safeParse(evidence);
    return found.success ? { values: [found.data.credential_id], reason: `Marked: ${found.data.credential_id}, still minting past its allowed age.` } : undefined;
  },
  watched_credential(evidence) {
    const found = watched.safeParse(evidence);
    if (!found.success) return undefined;
    const { watch, credentials } = found.data;
    if (watch.credential_id) return { values: [watch.credential_id], reason: `Marked: ${watch.credential_id}, the watched credential.` };
    if (credentials.length === 0) return { values: [], reason: 'Nothing is marked: the watch covers every credential of the client, and the requests named none.' };
    return { values: credentials, reason: 'Marked: the credentials used while the client is watched (the watch covers every credential).' };
  },
  unknown_client: () => ({ values: [], reason: 'Nothing is marked: the client is missing from the inventory, so every network of it is unexplained.' }),
  ioc_match: () => ({ values: [], reason: 'Nothing is marked here: the matched indicators are listed in the evidence.' }),
};

export function markersOf(alert: Pick<StoredAlert, 'finding' | 'evidence'>): Markers {
  const read = Object.hasOwn(READERS, alert.finding) ? READERS[alert.finding] : undefined;
  const markers = read?.(alert.evidence) ?? { values: [], reason: `Nothing is marked: this ${alert.finding} alert's evidence does not name what to mark.` };
  // Query parameters are bounded like every size: a list in evidence is not.
  return { values: markers.values.slice(0, MAX_MARKED), reason: markers.reason };
}
