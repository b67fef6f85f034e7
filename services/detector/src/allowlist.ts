import { CidrSet } from '@tokenwatch/shared/net/cidr';
import type { AllowlistEntry } from './config.js';

export interface Sighting {
  readonly tenant: string;
  readonly client_id: string;
  readonly country: string;
  readonly asn: number;
  readonly ips: readonly string[];
}

/**
 * Allowlist entries compiled once per configuration. An entry matches a sighting when every
 * field it names matches and it has not expired; expired entries are ignored, not errors, so
 * an allowlist nobody revisits stops hiding traffic by itself.
 */
export class Allowlist {
  private readonly entries: ReadonlyArray<AllowlistEntry & { readonly cidrs?: CidrSet }>;

  constructor(entries: readonly AllowlistEntry[]) {
    this.entries = entries.map((entry) => (entry.cidr ? { ...entry, cidrs: new CidrSet([entry.cidr], 'allowlist cidr') } : entry));
  }

  /** The entry that allows this sighting of `finding` at `now`, if any. */
  match(finding: AllowlistEntry['findings'][number], sighting: Sighting, now: number): AllowlistEntry | undefined {
    return this.entries.find(
      (entry) =>
        entry.expires > now &&
        entry.findings.includes(finding) &&
        (entry.tenant === undefined || entry.tenant === sighting.tenant) &&
        (entry.client_id === undefined || entry.client_id === sighting.client_id) &&
        (entry.asn === undefined || entry.asn === sighting.asn) &&
        (entry.country === undefined || entry.country === sighting.country) &&
        (entry.cidrs === undefined || (sighting.ips.length > 0 && sighting.ips.every((ip) => entry.cidrs?.has(ip)))),
    );
  }
}
