/**
 * The networks simulated traffic comes from: real allocations, so the offline enrichment
 * (enrich/enricher.ts with the packaged @ip-location-db databases) gives every simulated address
 * the country and ASN the simulator wrote into its `geo`. Each block below was checked address by
 * address against those databases (test/unit/simulate.test.ts re-checks every address used):
 * a block whose registry country or origin ASN is mixed (many OVH and Hetzner /16s are) is
 * not listed, only a clean sub-block of it.
 *
 * City names are where the provider runs that region; the databases know no cities, so only
 * the IdPs that log a city carry one.
 */

export type NetworkKind = 'cloud' | 'hosting' | 'isp' | 'residential';

export interface Network {
  readonly id: string;
  readonly kind: NetworkKind;
  readonly provider: string;
  readonly country: string;
  readonly city: string;
  readonly asn: number;
  /** The organisation name the ASN database gives, so IdP geo and lookup agree to the letter. */
  readonly asOrg: string;
  /** UTC offset of local working hours (standard time), for diurnal load and business hours. */
  readonly utcOffsetHours: number;
  /** IPv4 blocks (CIDR) addresses are drawn from. */
  readonly blocks: readonly string[];
}

const AMAZON = 'Amazon.com, Inc.';
const GOOGLE = 'Google LLC';
const MICROSOFT = 'Microsoft Corporation';

/** Where clients run: cloud regions, hosters and company data centres on business ISP lines. */
export const HOME_NETWORKS: readonly Network[] = [
  { id: 'aws-us-east-1', kind: 'cloud', provider: 'AWS', country: 'US', city: 'Ashburn', asn: 14618, asOrg: AMAZON, utcOffsetHours: -5, blocks: ['3.208.0.0/13'] },
  { id: 'aws-eu-west-1', kind: 'cloud', provider: 'AWS', country: 'IE', city: 'Dublin', asn: 16509, asOrg: AMAZON, utcOffsetHours: 0, blocks: ['34.240.0.0/14'] },
  { id: 'aws-eu-north-1', kind: 'cloud', provider: 'AWS', country: 'SE', city: 'Stockholm', asn: 16509, asOrg: AMAZON, utcOffsetHours: 1, blocks: ['16.170.0.0/16'] },
  { id: 'aws-ap-northeast-1', kind: 'cloud', provider: 'AWS', country: 'JP', city: 'Tokyo', asn: 16509, asOrg: AMAZON, utcOffsetHours: 9, blocks: ['13.112.0.0/15'] },
  { id: 'gcp-us-central1', kind: 'cloud', provider: 'Google Cloud', country: 'US', city: 'Council Bluffs', asn: 396982, asOrg: GOOGLE, utcOffsetHours: -6, blocks: ['23.236.48.0/20', '8.35.192.0/20'] },
  { id: 'gcp-europe-west1', kind: 'cloud', provider: 'Google Cloud', country: 'BE', city: 'Saint-Ghislain', asn: 396982, asOrg: GOOGLE, utcOffsetHours: 1, blocks: ['207.175.0.0/16'] },
  { id: 'azure-eastus', kind: 'cloud', provider: 'Azure', country: 'US', city: 'Boydton', asn: 8075, asOrg: MICROSOFT, utcOffsetHours: -5, blocks: ['13.82.0.0/16', '20.1.0.0/16'] },
  { id: 'azure-westeurope', kind: 'cloud', provider: 'Azure', country: 'NL', city: 'Amsterdam', asn: 8075, asOrg: MICROSOFT, utcOffsetHours: 1, blocks: ['51.124.0.0/16'] },
  { id: 'ovh-gra', kind: 'hosting', provider: 'OVHcloud', country: 'FR', city: 'Gravelines', asn: 16276, asOrg: 'OVH SAS', utcOffsetHours: 1, blocks: ['37.187.0.0/17', '51.91.0.0/20'] },
  { id: 'hetzner-fsn', kind: 'hosting', provider: 'Hetzner', country: 'DE', city: 'Falkenstein', asn: 24940, asOrg: 'Hetzner Online GmbH', utcOffsetHours: 1, blocks: ['5.9.0.0/16', '46.4.0.0/16'] },
  { id: 'onprem-dtag-frankfurt', kind: 'isp', provider: 'Deutsche Telekom', country: 'DE', city: 'Frankfurt am Main', asn: 3320, asOrg: 'Deutsche Telekom AG', utcOffsetHours: 1, blocks: ['37.51.0.0/16'] },
  { id: 'onprem-att-dallas', kind: 'isp', provider: 'AT&T', country: 'US', city: 'Dallas', asn: 7018, asOrg: 'AT&T Enterprises, LLC', utcOffsetHours: -6, blocks: ['12.0.0.0/18'] },
  { id: 'onprem-orange-paris', kind: 'isp', provider: 'Orange', country: 'FR', city: 'Paris', asn: 3215, asOrg: 'Orange S.A.', utcOffsetHours: 1, blocks: ['80.8.0.0/15'] },
  { id: 'onprem-bt-london', kind: 'isp', provider: 'BT', country: 'GB', city: 'London', asn: 2856, asOrg: 'British Telecommunications PLC', utcOffsetHours: 0, blocks: ['5.80.0.0/15'] },
];

/** Other companies' networks: partner integrations call from their own ASN and country. */
export const PARTNER_NETWORKS: readonly Network[] = [
  { id: 'partner-ntt-tokyo', kind: 'isp', provider: 'NTT Communications', country: 'JP', city: 'Tokyo', asn: 4713, asOrg: 'NTT Communications Corporation', utcOffsetHours: 9, blocks: ['60.32.0.0/12'] },
  { id: 'partner-bell-toronto', kind: 'isp', provider: 'Bell Canada', country: 'CA', city: 'Toronto', asn: 577, asOrg: 'Bell Canada', utcOffsetHours: -5, blocks: ['47.54.96.0/20'] },
  { id: 'partner-comcast-business', kind: 'isp', provider: 'Comcast Business', country: 'US', city: 'Philadelphia', asn: 7922, asOrg: 'Comcast Cable Communications, LLC', utcOffsetHours: -5, blocks: ['23.24.0.0/15'] },
  { id: 'partner-linode-london', kind: 'hosting', provider: 'Akamai Connected Cloud', country: 'GB', city: 'London', asn: 63949, asOrg: 'Akamai Technologies, Inc.', utcOffsetHours: 0, blocks: ['109.74.192.0/20'] },
];

/** Where stolen credentials get used from: rented VPSs and residential lines. */
export const ATTACKER_NETWORKS: readonly Network[] = [
  { id: 'do-nyc', kind: 'hosting', provider: 'DigitalOcean', country: 'US', city: 'Clifton', asn: 14061, asOrg: 'DigitalOcean, LLC', utcOffsetHours: -5, blocks: ['45.55.0.0/16'] },
  { id: 'do-fra', kind: 'hosting', provider: 'DigitalOcean', country: 'DE', city: 'Frankfurt am Main', asn: 14061, asOrg: 'DigitalOcean, LLC', utcOffsetHours: 1, blocks: ['64.226.64.0/18'] },
  { id: 'do-ams', kind: 'hosting', provider: 'DigitalOcean', country: 'NL', city: 'Amsterdam', asn: 14061, asOrg: 'DigitalOcean, LLC', utcOffsetHours: 1, blocks: ['37.139.0.0/19'] },
  { id: 'do-sgp', kind: 'hosting', provider: 'DigitalOcean', country: 'SG', city: 'Singapore', asn: 14061, asOrg: 'DigitalOcean, LLC', utcOffsetHours: 8, blocks: ['103.253.144.0/22'] },
  { id: 'vultr-tokyo', kind: 'hosting', provider: 'Vultr', country: 'JP', city: 'Tokyo', asn: 20473, asOrg: 'The Constant Company, LLC', utcOffsetHours: 9, blocks: ['167.179.64.0/18'] },
  { id: 'vultr-stockholm', kind: 'hosting', provider: 'Vultr', country: 'SE', city: 'Stockholm', asn: 20473, asOrg: 'The Constant Company, LLC', utcOffsetHours: 1, blocks: ['70.34.192.0/19'] },
  { id: 'vultr-toronto', kind: 'hosting', provider: 'Vultr', country: 'CA', city: 'Toronto', asn: 20473, asOrg: 'The Constant Company, LLC', utcOffsetHours: -5, blocks: ['216.128.176.0/20'] },
  { id: 'vultr-london', kind: 'hosting', provider: 'Vultr', country: 'GB', city: 'London', asn: 20473, asOrg: 'The Constant Company, LLC', utcOffsetHours: 0, blocks: ['89.36.236.0/22'] },
  { id: 'linode-newark', kind: 'hosting', provider: 'Akamai Connected Cloud', country: 'US', city: 'Newark', asn: 63949, asOrg: 'Akamai Technologies, Inc.', utcOffsetHours: -5, blocks: ['45.33.0.0/17'] },
  { id: 'contabo-nuremberg', kind: 'hosting', provider: 'Contabo', country: 'DE', city: 'Nuremberg', asn: 51167, asOrg: 'Contabo GmbH', utcOffsetHours: 1, blocks: ['38.242.192.0/18'] },
  { id: 'contabo-lauterbourg', kind: 'hosting', provider: 'Contabo', country: 'FR', city: 'Lauterbourg', asn: 51167, asOrg: 'Contabo GmbH', utcOffsetHours: 1, blocks: ['5.189.128.0/18'] },
  { id: 'm247-bucharest', kind: 'hosting', provider: 'M247', country: 'RO', city: 'Bucharest', asn: 9009, asOrg: 'M247 Europe SRL', utcOffsetHours: 2, blocks: ['37.120.192.0/19'] },
  { id: 'm247-dublin', kind: 'hosting', provider: 'M247', country: 'IE', city: 'Dublin', asn: 9009, asOrg: 'M247 Europe SRL', utcOffsetHours: 0, blocks: ['45.137.132.0/22'] },
  { id: 'm247-london', kind: 'hosting', provider: 'M247', country: 'GB', city: 'London', asn: 9009, asOrg: 'M247 Europe SRL', utcOffsetHours: 0, blocks: ['5.157.168.0/21'] },
  { id: 'rostelecom-moscow', kind: 'residential', provider: 'Rostelecom', country: 'RU', city: 'Moscow', asn: 12389, asOrg: 'PJSC Rostelecom', utcOffsetHours: 3, blocks: ['2.60.0.0/16'] },
  { id: 'vnpt-hanoi', kind: 'residential', provider: 'VNPT', country: 'VN', city: 'Hanoi', asn: 45899, asOrg: 'VNPT Corp', utcOffsetHours: 7, blocks: ['14.160.0.0/11'] },
  { id: 'comcast-residential', kind: 'residential', provider: 'Comcast', country: 'US', city: 'Chicago', asn: 7922, asOrg: 'Comcast Cable Communications, LLC', utcOffsetHours: -6, blocks: ['24.0.0.0/12'] },
];

export const ALL_NETWORKS: readonly Network[] = [...HOME_NETWORKS, ...PARTNER_NETWORKS, ...ATTACKER_NETWORKS];

interface Block {
  readonly base: number;
  readonly size: number;
}

const parsedBlocks = new Map<string, readonly Block[]>();

function blocksOf(network: Network): readonly Block[] {
  let blocks = parsedBlocks.get(network.id);
  if (!blocks) {
    blocks = network.blocks.map((cidr) => {
      const [ip = '', bits = '32'] = cidr.split('/');
      const base = ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
      return { base, size: 2 ** (32 - Number(bits)) };
    });
    parsedBlocks.set(network.id, blocks);
  }
  return blocks;
}

export function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * A /24 inside one of the network's blocks: a client's deployment (VPC subnet, NAT range, office
 * uplink) draws its addresses from one or a few of these, as real deployments do.
 */
export function subnetOf(network: Network, draw: () => number): number {
  const blocks = blocksOf(network);
  const block = blocks[Math.floor(draw() * blocks.length)] as Block;
  const subnets = Math.max(1, block.size / 256);
  return block.base + Math.floor(draw() * subnets) * 256;
}

/** A host address in a /24 (never .0, .1 or .255: network, gateway, broadcast). */
export function hostIn(subnet: number, draw: () => number): string {
  return ipv4Text(subnet + 2 + Math.floor(draw() * 252));
}

export function networkById(id: string): Network {
  const network = ALL_NETWORKS.find((candidate) => candidate.id === id);
  if (!network) throw new Error(`unknown network ${id}`);
  return network;
}
