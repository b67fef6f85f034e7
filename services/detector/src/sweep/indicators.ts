import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '@tokenwatch/shared/errors';
import { redactText } from '@tokenwatch/shared/redact';

/**
 * Indicators of compromise from a threat report, one per line (`tokenwatch sweep`): an IPv4 or
 * IPv6 address, a CIDR range, `AS<number>`, or `ua:<substring>` of a user agent; lines whose
 * first non-blank character is `#`, and blank lines, are skipped. Anything else stops the
 * sweep with the line's number and its content (redacted, cut), so a report pasted with a
 * stray heading is fixed, not half-swept.
 *
 * Addresses and ranges become IPv6 ranges because source_ip is stored as IPv6 (IPv4 as
 * IPv4-mapped ::ffff:a.b.c.d): the sweep compares them as 128-bit numbers (a range by its first
 * address under its prefix length), never as text.
 * Parsing splits and compares only; no regular expression runs on a line except anchored,
 * linear ones on a bounded length.
 */

/** At most this many indicators (after removing repeats) and this long a line. */
export const MAX_INDICATORS = 10_000;
export const MAX_LINE_CHARS = 1_000;
/** Longest `ua:` substring: user agents are bounded too, and a longer one is not a fragment. */
export const MAX_UA_CHARS = 256;
/** Largest indicator file read: MAX_INDICATORS lines of MAX_LINE_CHARS. */
export const MAX_FILE_BYTES = MAX_INDICATORS * MAX_LINE_CHARS;

/** How much of a wrong line an error shows. */
const SHOWN_CHARS = 80;

export interface IpRange {
  /** The indicator as the sweep reports it, e.g. `203.0.113.0/24`. */
  readonly label: string;
  /** IPv6 text of the first and last address, IPv4 as ::ffff:a.b.c.d. */
  readonly start: string;
  readonly end: string;
  /** Prefix length in IPv6 terms (an IPv4 /24 is a /120). */
  readonly prefix: number;
  readonly ipv4: boolean;
  /**
   * The first address as 32 upper-case hex digits, `/`, the prefix: what ClickHouse computes
   * for a stored address as concat(hex(IPv6CIDRToRange(ip, prefix).1), '/', toString(prefix)),
   * so a range is found by a set lookup.
   */
  readonly key: string;
}

export interface Indicators {
  /** Single addresses. */
  readonly addresses: readonly IpRange[];
  /** CIDR ranges wider than one address. */
  readonly ranges: readonly IpRange[];
  readonly asns: ReadonlyArray<{ readonly label: string; readonly asn: number }>;
  readonly userAgents: ReadonlyArray<{ readonly label: string; readonly substring: string }>;
  readonly count: number;
}

export class IndicatorError extends ConfigError {}

const ASN = /^AS(\d{1,10})$/i;
const PREFIX = /^\d{1,3}$/;

/** Parses the text of an indicator file; throws IndicatorError naming the first wrong line. */
export function parseIndicators(text: string): Indicators {
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) {
    throw new IndicatorError(`the indicator file is larger than ${MAX_FILE_BYTES.toLocaleString('en')} bytes (at most ${MAX_INDICATORS.toLocaleString('en')} indicators)`);
  }
  const addresses = new Map<string, IpRange>();
  const ranges = new Map<string, IpRange>();
  const asns = new Map<string, { label: string; asn: number }>();
  const userAgents = new Map<string, { label: string; substring: string }>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    const wrong = (why: string) =>
      new IndicatorError(`line ${lineNumber}: ${why}: ${JSON.stringify(redactText(raw.slice(0, SHOWN_CHARS)))}${raw.length > SHOWN_CHARS ? '…' : ''}`);
    if (raw.length > MAX_LINE_CHARS) throw wrong(`longer than ${MAX_LINE_CHARS} characters`);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.toLowerCase().startsWith('ua:')) {
      const substring = line.slice(3).trim();
      if (substring === '') throw wrong('ua: needs the text to look for in user agents');
      if (substring.length > MAX_UA_CHARS) throw wrong(`a ua: substring is at most ${MAX_UA_CHARS} characters`);
      userAgents.set(substring.toLowerCase(), { label: `ua:${substring}`, substring });
    } else if (ASN.test(line)) {
      const asn = Number(ASN.exec(line)?.[1]);
      if (asn > 4_294_967_295) throw wrong('an AS number is at most 4294967295');
      asns.set(String(asn), { label: `AS${asn}`, asn });
    } else {
      const range = parseRange(line);
      if (!range) throw wrong('not an indicator (expected an IP address, a CIDR range, AS<number> or ua:<text>)');
      (range.prefix === 128 ? addresses : ranges).set(range.key, range);
    }
    const count = addresses.size + ranges.size + asns.size + userAgents.size;
    if (count > MAX_INDICATORS) throw wrong(`more than ${MAX_INDICATORS.toLocaleString('en')} indicators`);
  }
  return {
    addresses: [...addresses.values()],
    ranges: [...ranges.values()],
    asns: [...asns.values()],
    userAgents: [...userAgents.values()],
    count: addresses.size + ranges.size + asns.size + userAgents.size,
  };
}

/** An address or CIDR as an IPv6 range, or undefined when the text is neither. */
export function parseRange(text: string): IpRange | undefined {
  const parts = text.split('/');
  if (parts.length > 2) return undefined;
  const [address = '', prefixText] = parts;
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return undefined;
  const bits = v4 ? 32 : 128;
  if (prefixText !== undefined && !PREFIX.test(prefixText)) return undefined;
  const ownPrefix = prefixText === undefined ? bits : Number(prefixText);
  if (ownPrefix > bits) return undefined;
  const prefix = v4 ? 96 + ownPrefix : ownPrefix;
  const value = v4 ? (0xffffn << 32n) | ipv4ToBigInt(address) : ipv6ToBigInt(address);
  const hostBits = BigInt(128 - prefix);
  const hostMask = (1n << hostBits) - 1n;
  // Host bits set in the range (10.1.2.3/8) are cleared: reports often write ranges so.
  const start = value & ~hostMask;
  const end = start | hostMask;
  const label = prefixText === undefined ? address.toLowerCase() : `${address.toLowerCase()}/${ownPrefix}`;
  return { label, start: bigIntToIPv6(start), end: bigIntToIPv6(end), prefix, ipv4: v4, key: `${start.toString(16).padStart(32, '0').toUpperCase()}/${prefix}` };
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** An address node:net has accepted as IPv6 (possibly with a dotted IPv4 tail) as a 128-bit number. */
function ipv6ToBigInt(address: string): bigint {
  let text = address.split('%')[0] ?? '';
  const dotted = text.lastIndexOf(':');
  const tail = text.slice(dotted + 1);
  if (isIPv4(tail)) {
    const v4 = ipv4ToBigInt(tail);
    text = `${text.slice(0, dotted + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

function bigIntToIPv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}
