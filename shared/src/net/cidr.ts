import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.js';

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports IPv4 peers) as plain IPv4. */
export function normaliseIp(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] && isIPv4(mapped[1]) ? mapped[1] : address;
}

/** A set of CIDR ranges ("10.0.0.0/8", "2001:db8::/32", or a single address). */
export class CidrSet {
  private readonly list = new BlockList();
  readonly size: number;

  /** `what` names the setting in the error a bad entry raises, e.g. "trusted proxy". */
  constructor(cidrs: readonly string[], what = 'CIDR range') {
    for (const cidr of cidrs) {
      const [address = '', prefixText, ...rest] = cidr.trim().split('/');
      const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
      const max = type === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (!type || rest.length > 0 || !(prefix >= 0 && prefix <= max)) {
        throw new ConfigError(`invalid ${what} ${JSON.stringify(cidr)}: expected an IPv4 or IPv6 address or CIDR range`);
      }
      this.list.addSubnet(address, prefix, type);
    }
    this.size = cidrs.length;
  }

  has(address: string): boolean {
    const ip = normaliseIp(address);
    if (isIPv4(ip)) return this.list.check(ip, 'ipv4');
    if (isIPv6(ip)) return this.list.check(ip, 'ipv6');
    return false;
  }
}
