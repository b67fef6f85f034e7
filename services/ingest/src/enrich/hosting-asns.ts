import { createRequire } from 'node:module';
import { z } from 'zod';
// Type-only: tsc then copies the JSON into dist/ beside this module. It is loaded with require
// because JSON import attributes are still flagged experimental on some Node 20 releases.
import type hostingAsnsJson from './hosting-asns.json';

/**
 * Which ASNs belong to cloud, hosting and CDN providers, from the list maintained in
 * hosting-asns.json (each ASN with its registered holder and a public source). Edit the JSON to
 * maintain it; this module validates it when loaded, so a bad edit fails at start-up, not later.
 */

export const HOSTING_KINDS = ['cloud', 'hosting', 'cdn'] as const;
export type HostingKind = (typeof HOSTING_KINDS)[number];

const listSchema = z.object({
  checked: z.iso.date(),
  providers: z
    .array(
      z.object({
        provider: z.string().min(1).max(64),
        kind: z.enum(HOSTING_KINDS),
        asns: z
          .array(
            z.object({
              asn: z.number().int().positive().max(4_294_967_295),
              holder: z.string().min(1),
              source: z.url({ protocol: /^https$/ }),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
});

export interface HostingAsn {
  readonly asn: number;
  readonly provider: string;
  readonly kind: HostingKind;
  readonly holder: string;
  readonly source: string;
}

function load(): ReadonlyMap<number, HostingAsn> {
  const raw = createRequire(import.meta.url)('./hosting-asns.json') as typeof hostingAsnsJson;
  const list = listSchema.parse(raw);
  const byAsn = new Map<number, HostingAsn>();
  for (const { provider, kind, asns } of list.providers) {
    for (const { asn, holder, source } of asns) {
      const other = byAsn.get(asn);
      if (other) throw new Error(`hosting-asns.json lists AS${asn} twice (${other.provider}, ${provider})`);
      byAsn.set(asn, { asn, provider, kind, holder, source });
    }
  }
  return byAsn;
}

const HOSTING_ASNS = load();

/** Every listed ASN, keyed by number. */
export function hostingAsns(): ReadonlyMap<number, HostingAsn> {
  return HOSTING_ASNS;
}

/** The provider whose network the ASN is (`AWS`, `Hetzner`, ...), or undefined. */
export function hostingProvider(asn: number | undefined): string | undefined {
  return asn === undefined ? undefined : HOSTING_ASNS.get(asn)?.provider;
}
