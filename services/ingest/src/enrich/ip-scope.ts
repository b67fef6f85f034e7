/**
 * What kind of address a token request came from, so that enrichment never invents a location
 * for an address that has none on the public Internet.
 *
 * The ranges are IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and the RFCs
 * they list) plus the IPv6 Address Space registry, where only 2000::/3 is global unicast:
 * https://www.iana.org/assignments/iana-ipv4-special-registry/
 * https://www.iana.org/assignments/iana-ipv6-special-registry/
 * https://www.iana.org/assignments/ipv6-address-space/
 *
 * Parsing and matching are done here rather than with node:net's BlockList: a BlockList.check
 * costs about 2.7 µs per list on this hardware (one native call per check and list), five lists
 * per event would cost ~13 µs, and this classification runs for every ingested event. The
 * parser below takes what node:net isIPv4/isIPv6 accept (the TokenRequest schema validates
 * source_ip with them): dotted-quad IPv4, and IPv6 with `::` and an optional dotted-quad tail.
 */

export const IP_SCOPES = ['public', 'private', 'loopback', 'link_local', 'unspecified', 'reserved'] as const;
export type IpScope = (typeof IP_SCOPES)[number];

/** An address as four 32-bit words (IPv6), or one (IPv4). */
export type ParsedIp =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: readonly [number, number, number, number] };

export interface ClassifiedIp {
  readonly scope: IpScope;
  /**
   * The address a database lookup should use: IPv4-mapped (::ffff:a.b.c.d) and well-known-prefix
   * NAT64 (64:ff9b::a.b.c.d) addresses become their IPv4 address, since MaxMind-format databases
   * and range tables hold IPv4 data under IPv4 keys (a lookup of ::ffff:8.8.8.8 finds nothing).
   */
  readonly lookup: ParsedIp;
  /** `lookup` as text (dotted quad for IPv4, the input otherwise). */
  readonly lookupText: string;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; undefined if it is not one. */
export function parseIPv4(text: string, start = 0, end = text.length): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i += 1) {
    const code = i === end ? 46 /* '.' */ : text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || part > 255) return undefined;
      value = value * 256 + part;
      parts += 1;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      part = part * 10 + (code - 48);
      digits += 1;
      if (digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

/** Parses IPv6 text (with `::` and an optional dotted-quad tail) into four 32-bit words. */
export function parseIPv6(text: string): [number, number, number, number] | undefined {
  const hextets: number[] = [];
  let gap = -1; // index in `hextets` where `::` stands
  let i = 0;
  const n = text.length;
  if (n < 2) return undefined;
  if (text.charCodeAt(0) === 58 /* ':' */) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
    if (i === n) return [0, 0, 0, 0];
  }
  while (i < n) {
    let j = i;
    let value = 0;
    while (j < n) {
      const code = text.charCodeAt(j);
      let digit: number;
      if (code >= 48 && code <= 57) digit = code - 48;
      else if (code >= 97 && code <= 102) digit = code - 87;
      else if (code >= 65 && code <= 70) digit = code - 55;
      else break;
      value = value * 16 + digit;
      j += 1;
    }
    if (j < n && text.charCodeAt(j) === 46 /* '.' */) {
      // The dotted-quad tail: the rest of the text is an IPv4 address.
      const v4 = parseIPv4(text, i, n);
      if (v4 === undefined || hextets.length > 6) return undefined;
      hextets.push(v4 >>> 16, v4 & 0xffff);
      i = n;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    hextets.push(value);
    if (j === n) {
      i = n;
      break;
    }
    if (text.charCodeAt(j) !== 58) return undefined;
    if (j + 1 < n && text.charCodeAt(j + 1) === 58) {
      if (gap !== -1) return undefined;
      gap = hextets.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === n) return undefined; // a trailing single ':'
    }
  }
  if (gap === -1 ? hextets.length !== 8 : hextets.length > 7) return undefined;
  const full = gap === -1 ? hextets : [...hextets.slice(0, gap), ...new Array<number>(8 - hextets.length).fill(0), ...hextets.slice(gap)];
  const h = (k: number) => full[k] ?? 0;
  return [
    ((h(0) << 16) | h(1)) >>> 0,
    ((h(2) << 16) | h(3)) >>> 0,
    ((h(4) << 16) | h(5)) >>> 0,
    ((h(6) << 16) | h(7)) >>> 0,
  ];
}

export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const words = parseIPv6(text);
    return words && { family: 6, words };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

interface Range4 {
  readonly base: number;
  readonly mask: number;
  readonly scope: IpScope;
}
interface Range6 {
  readonly words: readonly [number, number, number, number];
  readonly masks: readonly [number, number, number, number];
  readonly scope: IpScope;
}

function range4(cidr: string, scope: IpScope): Range4 {
  const [address = '', bits = ''] = cidr.split('/');
  const length = Number(bits);
  const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  const base = parseIPv4(address);
  if (base === undefined || ((base & mask) >>> 0) !== base) throw new Error(`bad IPv4 range ${cidr}`);
  return { base, mask, scope };
}

function range6(cidr: string, scope: IpScope): Range6 {
  const [address = '', bits = ''] = cidr.split('/');
  const length = Number(bits);
  const words = parseIPv6(address);
  if (!words) throw new Error(`bad IPv6 range ${cidr}`);
  const masks = [0, 1, 2, 3].map((k) => {
    const inWord = Math.max(0, Math.min(32, length - 32 * k));
    return inWord === 0 ? 0 : (0xffffffff << (32 - inWord)) >>> 0;
  }) as [number, number, number, number];
  return { words, masks, scope };
}

// Most specific first: the first match wins.
const IPV4_RANGES: readonly Range4[] = [
  range4('0.0.0.0/32', 'unspecified'),
  range4('0.0.0.0/8', 'reserved'), // "this network" (RFC 791)
  range4('10.0.0.0/8', 'private'), // RFC 1918
  // Shared Address Space (RFC 6598): carrier-grade NAT and some clouds' internal networks.
  // Not routed on the Internet, so like RFC 1918 it says nothing about where a client is.
  range4('100.64.0.0/10', 'private'),
  range4('127.0.0.0/8', 'loopback'), // RFC 1122
  range4('169.254.0.0/16', 'link_local'), // RFC 3927
  range4('172.16.0.0/12', 'private'), // RFC 1918
  range4('192.0.0.0/24', 'reserved'), // IETF protocol assignments (RFC 6890)
  range4('192.0.2.0/24', 'reserved'), // TEST-NET-1 documentation (RFC 5737)
  range4('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast (RFC 7526)
  range4('192.168.0.0/16', 'private'), // RFC 1918
  range4('198.18.0.0/15', 'reserved'), // benchmarking (RFC 2544)
  range4('198.51.100.0/24', 'reserved'), // TEST-NET-2 (RFC 5737)
  range4('203.0.113.0/24', 'reserved'), // TEST-NET-3 (RFC 5737)
  range4('224.0.0.0/4', 'reserved'), // multicast (RFC 5771)
  range4('240.0.0.0/4', 'reserved'), // reserved (RFC 1112), includes 255.255.255.255 broadcast
];

const IPV6_RANGES: readonly Range6[] = [
  range6('::/128', 'unspecified'), // RFC 4291
  range6('::1/128', 'loopback'), // RFC 4291
  range6('::/8', 'reserved'), // IETF reserved (IPv4-compatible addresses are deprecated)
  range6('64:ff9b:1::/48', 'private'), // local-use IPv4/IPv6 translation (RFC 8215)
  range6('100::/64', 'reserved'), // discard-only (RFC 6666)
  range6('2001:2::/48', 'reserved'), // benchmarking (RFC 5180)
  range6('2001:10::/28', 'reserved'), // deprecated ORCHID (RFC 4843)
  range6('2001:db8::/32', 'reserved'), // documentation (RFC 3849)
  range6('3fff::/20', 'reserved'), // documentation (RFC 9637)
  range6('5f00::/16', 'reserved'), // SRv6 SIDs (RFC 9602), not globally reachable
  range6('fc00::/7', 'private'), // unique local addresses (RFC 4193)
  range6('fe80::/10', 'link_local'), // RFC 4291
  range6('fec0::/10', 'private'), // deprecated site-local (RFC 3879): meaningful only inside a site
  range6('ff00::/8', 'reserved'), // multicast (RFC 4291)
];

const GLOBAL_UNICAST = range6('2000::/3', 'public');

function inRange6(words: readonly [number, number, number, number], range: Range6): boolean {
  for (let k = 0; k < 4; k += 1) {
    if (((words[k]! & range.masks[k]!) >>> 0) !== range.words[k]) return false;
  }
  return true;
}

function scope4(value: number): IpScope {
  for (const range of IPV4_RANGES) {
    if (((value & range.mask) >>> 0) === range.base) return range.scope;
  }
  return 'public';
}

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped ::ffff:0:0/96 (RFC 4291) and the
 * NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).
 */
function embeddedIPv4(words: readonly [number, number, number, number]): number | undefined {
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return words[3];
  if (words[0] === 0x0064ff9b && words[1] === 0 && words[2] === 0) return words[3];
  return undefined;
}

/** Classifies an IPv4 or IPv6 address; undefined when the text is not one. */
export function classifyIp(text: string): ClassifiedIp | undefined {
  const parsed = parseIp(text);
  if (!parsed) return undefined;
  if (parsed.family === 4) return { scope: scope4(parsed.value), lookup: parsed, lookupText: text };
  const v4 = embeddedIPv4(parsed.words);
  if (v4 !== undefined) {
    return { scope: scope4(v4), lookup: { family: 4, value: v4 }, lookupText: formatIPv4(v4) };
  }
  let scope: IpScope | undefined;
  for (const range of IPV6_RANGES) {
    if (inRange6(parsed.words, range)) {
      scope = range.scope;
      break;
    }
  }
  // Outside 2000::/3 the IPv6 space is unallocated (reserved by the IETF).
  scope ??= inRange6(parsed.words, GLOBAL_UNICAST) ? 'public' : 'reserved';
  return { scope, lookup: parsed, lookupText: text };
}

/** The scope of an IPv4 or IPv6 address; throws a TypeError for text that is not one. */
export function ipScope(text: string): IpScope {
  const classified = classifyIp(text);
  if (!classified) throw new TypeError(`not an IP address: ${JSON.stringify(text.slice(0, 64))}`);
  return classified.scope;
}
