import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BlockList, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openMmdb, type Reader, type Response } from 'maxmind';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRequestSchema, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { defaultDatabasePaths, openEnricher, type Enricher } from '@tokenwatch/ingest/enrich/enricher';
import { hostingAsns, hostingProvider } from '@tokenwatch/ingest/enrich/hosting-asns';
import { classifyIp, ipScope, parseIp, type IpScope } from '@tokenwatch/ingest/enrich/ip-scope';
import { MINIMAL_EVENT } from '../helpers/events.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-enrich-'));
  dirs.push(dir);
  return dir;
}

/** Deterministic pseudo-random 24-bit numbers (the high bits of a 32-bit LCG, whose low bits cycle). */
function pseudoRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
}

/** A valid event from `source_ip`, with the IdP's geo when given. */
function event(source_ip: string, geo?: TokenRequest['geo']): TokenRequest {
  return tokenRequestSchema.parse({
    ...MINIMAL_EVENT,
    event_id: `evt-${source_ip}`,
    source_ip,
    ...(geo ? { geo } : {}),
  });
}

describe('ipScope', () => {
  it.each<[string, IpScope]>([
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.168.1.1', 'private'],
    ['192.169.0.1', 'public'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link_local'],
    ['169.255.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link_local'],
    ['FE80::abcd:1234', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fbff::1', 'reserved'],
    ['ff02::1', 'reserved'],
    ['2001:db8::4', 'reserved'],
    ['3fff::1', 'reserved'],
    ['::2', 'reserved'],
    ['2001:4860:4860::8888', 'public'],
    ['2a01:4f8::1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['4000::1', 'reserved'],
    // IPv4-mapped addresses are their IPv4 address, in dotted and in hex form.
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.1.1', 'link_local'],
    ['::ffff:172.20.0.5', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:808:808', 'public'],
    ['::FFFF:C0A8:0101', 'private'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    // NAT64 well-known prefix (RFC 6052) embeds an IPv4 address too.
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
  ])('%s is %s', (ip, scope) => {
    expect(isIP(ip), `${ip} is a valid address`).not.toBe(0);
    expect(ipScope(ip)).toBe(scope);
  });

  it('looks IPv4-mapped addresses up under their IPv4 address', () => {
    expect(classifyIp('::ffff:808:808')?.lookupText).toBe('8.8.8.8');
    expect(classifyIp('::ffff:8.8.8.8')?.lookup).toEqual({ family: 4, value: 0x08080808 });
    expect(classifyIp('2001:4860:4860::8888')?.lookupText).toBe('2001:4860:4860::8888');
  });

  it.each(['not-an-ip', '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '1::2::3', '12345::', ':1', '1:', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3', 'g::1', '1.2.3.4:80'])(
    'rejects %j, as node:net does',
    (text) => {
      expect(isIP(text)).toBe(0);
      expect(parseIp(text)).toBeUndefined();
      expect(() => ipScope(text)).toThrow(TypeError);
    },
  );

  // An independent check of parsing and prefix matching: node:net's BlockList, given the same
  // ranges, must agree on random addresses written in several forms.
  it('agrees with node:net BlockList on random IPv4, IPv4-mapped and IPv6 addresses', () => {
    const lists = new Map<IpScope, BlockList>();
    const add = (scope: IpScope, cidr: string) => {
      const [address = '', bits = ''] = cidr.split('/');
      const list = lists.get(scope) ?? new BlockList();
      list.addSubnet(address, Number(bits), address.includes(':') ? 'ipv6' : 'ipv4');
      lists.set(scope, list);
    };
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10']) add('private', cidr);
    for (const cidr of ['127.0.0.0/8', '::1/128']) add('loopback', cidr);
    for (const cidr of ['169.254.0.0/16', 'fe80::/10']) add('link_local', cidr);
    const random = pseudoRandom(42);
    const hex = () => (random() & 0xffff).toString(16);
    const interesting = [10, 100, 127, 169, 172, 192, 8, 1];
    const seen = new Set<IpScope>();
    for (let i = 0; i < 20_000; i += 1) {
      let ip: string;
      switch (i % 4) {
        case 0:
          ip = `${interesting[random() % interesting.length]}.${random() % 256}.${random() % 256}.${random() % 256}`;
          break;
        case 1:
          ip = `::ffff:${interesting[random() % interesting.length]}.${random() % 256}.${random() % 256}.${random() % 256}`;
          break;
        case 2:
          ip = `${['fc', 'fd', 'fe', 'fb', '20', '2a'][random() % 6]}${(random() % 256).toString(16).padStart(2, '0')}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
          break;
        default:
          ip = `${['fe80', 'fd00', 'fec0', '2001'][random() % 4]}::${hex()}:${hex()}`;
      }
      const family = ip.includes(':') ? 'ipv6' : 'ipv4';
      const expected = [...lists].find(([, list]) => list.check(ip, family))?.[0];
      const scope = ipScope(ip);
      seen.add(scope);
      if (expected) expect(scope, ip).toBe(expected);
      else expect(['public', 'reserved'], ip).toContain(scope);
    }
    expect([...seen].sort()).toEqual(['link_local', 'loopback', 'private', 'public', 'reserved']);
  });
});

describe('hostingProvider', () => {
  it.each([
    [16509, 'AWS'],
    [14618, 'AWS'],
    [15169, 'Google'],
    [396982, 'Google'],
    [8075, 'Microsoft'],
    [31898, 'Oracle Cloud'],
    [14061, 'DigitalOcean'],
    [24940, 'Hetzner'],
    [16276, 'OVHcloud'],
    [13335, 'Cloudflare'],
    [63949, 'Akamai (Linode)'],
    [45102, 'Alibaba Cloud'],
    [132203, 'Tencent Cloud'],
    [20473, 'Vultr'],
    [12876, 'Scaleway'],
    [36351, 'IBM Cloud'],
    [54113, 'Fastly'],
  ])('AS%i is %s', (asn, provider) => {
    expect(hostingProvider(asn)).toBe(provider);
  });

  it('flags no access or transit network, and nothing for no ASN', () => {
    for (const asn of [3320, 7922, 701, 3356, 174, 0, 64512]) expect(hostingProvider(asn), `AS${asn}`).toBeUndefined();
    expect(hostingProvider(undefined)).toBeUndefined();
  });

  it('gives every listed ASN a holder and an https source', () => {
    expect(hostingAsns().size).toBeGreaterThanOrEqual(40);
    for (const entry of hostingAsns().values()) {
      expect(entry.holder.length, `AS${entry.asn}`).toBeGreaterThan(0);
      expect(entry.source, `AS${entry.asn}`).toMatch(/^https:\/\/\S+$/);
    }
  });

  // A maintenance check: an ASN that no longer holds address space (returned, renumbered)
  // should leave the list; so should a holder that changed. Both as in the installed data.
  it('lists only ASNs that hold address space in the installed ASN database, under the holder named there', () => {
    const holders = new Map<number, string>();
    for (const path of defaultDatabasePaths().asn) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        const match = /^[^,]+,[^,]+,(\d+),(?:"((?:[^"]|"")*)"|(.*))$/.exec(line);
        if (match && !holders.has(Number(match[1]))) holders.set(Number(match[1]), (match[2] ?? match[3] ?? '').replaceAll('""', '"'));
      }
    }
    const mismatched = [...hostingAsns().values()].filter((entry) => holders.get(entry.asn) !== entry.holder);
    expect(mismatched.map((entry) => `AS${entry.asn} ${entry.holder} -> ${holders.get(entry.asn) ?? 'absent'}`)).toEqual([]);
  });
});

describe('openEnricher with the packaged databases', () => {
  let enricher: Enricher;
  let countryReader: Reader<Response>;
  beforeAll(async () => {
    enricher = await openEnricher();
    countryReader = await openMmdb<Response>(defaultDatabasePaths().country);
  });

  it('defaults to files inside the installed npm packages', () => {
    expect(enricher.databases.country).toMatch(/node_modules\/@ip-location-db\/geo-whois-asn-country-mmdb\/geo-whois-asn-country\.mmdb$/);
    expect(enricher.databases.asn).toEqual([
      expect.stringMatching(/node_modules\/@ip-location-db\/asn\/asn-ipv4\.csv$/),
      expect.stringMatching(/node_modules\/@ip-location-db\/asn\/asn-ipv6\.csv$/),
    ]);
  });

  it('finds Google for 8.8.8.8 and its IPv6 resolver, and the same for the IPv4-mapped form', () => {
    const google = enricher.lookup('8.8.8.8');
    expect(google).toMatchObject({ country: 'US', asn: 15169 });
    expect(google.as_org).toMatch(/google/i);
    expect(enricher.lookup('::ffff:8.8.8.8')).toEqual(google);
    expect(enricher.lookup('::ffff:808:808')).toEqual(google);
    expect(enricher.lookup('2001:4860:4860::8888')).toMatchObject({ asn: 15169 });
  });

  it('finds Cloudflare, Hetzner and AWS networks', () => {
    expect(enricher.lookup('1.1.1.1')).toMatchObject({ asn: 13335, country: expect.stringMatching(/^[A-Z]{2}$/) });
    expect(enricher.lookup('2606:4700:4700::1111')).toMatchObject({ asn: 13335 });
    expect(enricher.lookup('5.9.0.1')).toMatchObject({ asn: 24940, country: 'DE' });
    expect(enricher.lookup('2a01:4f8::1')).toMatchObject({ asn: 24940 });
    expect(enricher.lookup('52.95.110.1')).toMatchObject({ asn: 16509 });
  });

  it('looks nothing up for non-public addresses', () => {
    for (const ip of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '0.0.0.0', '198.51.100.7', '::ffff:192.168.0.1']) {
      expect(enricher.lookup(ip), ip).toEqual({});
    }
  });

  it('answers as the country database itself does, for random public IPv4 addresses', () => {
    const random = pseudoRandom(9);
    let found = 0;
    for (let i = 0; i < 2_000; i += 1) {
      const ip = `${1 + (random() % 222)}.${random() % 256}.${random() % 256}.${random() % 256}`;
      if (ipScope(ip) !== 'public') continue;
      const record = countryReader.get(ip) as { country_code?: string } | null;
      expect(enricher.lookup(ip).country, ip).toBe(record?.country_code);
      if (record?.country_code) found += 1;
    }
    expect(found).toBeGreaterThan(1_000);
  });

  it('answers as a plain scan of the ASN CSV does, for random public IPv4 addresses', () => {
    const ranges: [number, number, number][] = [];
    for (const line of readFileSync(defaultDatabasePaths().asn[0]!, 'utf8').split('\n')) {
      const [start, end, asn] = line.split(',');
      if (!start || !end || !asn) continue;
      const toNumber = (ip: string) => ip.split('.').reduce((value, part) => value * 256 + Number(part), 0);
      ranges.push([toNumber(start), toNumber(end), Number(asn)]);
    }
    const random = pseudoRandom(11);
    let found = 0;
    for (let i = 0; i < 150; i += 1) {
      const value = ((random() * 256 + (random() & 255)) % 0xdf000000) + 0x01000000;
      const ip = `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
      if (ipScope(ip) !== 'public') continue;
      // Where ranges overlap (the published data has a few), the later-starting one wins.
      const matches = ranges.filter(([start, end]) => start <= value && value <= end);
      const expected = matches.sort((a, b) => b[0] - a[0])[0]?.[2];
      expect(enricher.lookup(ip).asn, ip).toBe(expected);
      if (expected !== undefined) found += 1;
    }
    expect(found).toBeGreaterThan(60);
  });

  it('fills a public address from the lookup when the IdP gave no geo', () => {
    const input = event('8.8.8.8');
    const enriched = enricher.enrich(input);
    expect(enriched.geo).toMatchObject({ country: 'US', asn: 15169, as_org: expect.stringMatching(/google/i) });
    expect(enriched.enrichment).toEqual({ geo_source: 'lookup', ip_scope: 'public', hosting_provider: 'Google' });
    expect(input.geo).toBeUndefined(); // the input is not changed
    expect(tokenRequestSchema.safeParse(enriched).success).toBe(true);
  });

  it('keeps the IdP geo whole when it gave every field', () => {
    const geo = { country: 'DE', city: 'Berlin', asn: 3320, as_org: 'Deutsche Telekom AG' };
    const enriched = enricher.enrich(event('8.8.8.8', geo));
    expect(enriched.geo).toEqual(geo);
    expect(enriched.enrichment).toEqual({ geo_source: 'idp', ip_scope: 'public' });
  });

  it('lets the IdP win field by field and fills the rest: mixed', () => {
    const enriched = enricher.enrich(event('8.8.8.8', { country: 'FR' }));
    expect(enriched.geo).toEqual({ country: 'FR', asn: 15169, as_org: enricher.lookup('8.8.8.8').as_org });
    expect(enriched.enrichment).toEqual({ geo_source: 'mixed', ip_scope: 'public', hosting_provider: 'Google' });

    const withCity = enricher.enrich(event('5.9.0.1', { city: 'Falkenstein' }));
    expect(withCity.geo).toMatchObject({ city: 'Falkenstein', country: 'DE', asn: 24940 });
    expect(withCity.enrichment).toEqual({ geo_source: 'mixed', ip_scope: 'public', hosting_provider: 'Hetzner' });
  });

  it('never pairs the IdP ASN with another network name, and flags hosting from the final ASN', () => {
    const otherAsn = enricher.enrich(event('8.8.8.8', { asn: 16509 }));
    expect(otherAsn.geo).toEqual({ country: 'US', asn: 16509 });
    expect(otherAsn.enrichment).toEqual({ geo_source: 'mixed', ip_scope: 'public', hosting_provider: 'AWS' });

    const sameAsn = enricher.enrich(event('8.8.8.8', { asn: 15169, country: 'US' }));
    expect(sameAsn.geo).toEqual({ country: 'US', asn: 15169, as_org: enricher.lookup('8.8.8.8').as_org });
    expect(sameAsn.enrichment.geo_source).toBe('mixed');

    const orgOnly = enricher.enrich(event('8.8.8.8', { as_org: 'Google (per IdP)', country: 'US' }));
    expect(orgOnly.geo).toEqual({ country: 'US', asn: 15169, as_org: 'Google (per IdP)' });
  });

  it('treats an IdP asn of 0 as missing', () => {
    const enriched = enricher.enrich(event('8.8.8.8', { asn: 0 }));
    expect(enriched.geo).toMatchObject({ asn: 15169, country: 'US' });
    expect(enriched.enrichment.geo_source).toBe('lookup');
  });

  it.each<[string, IpScope]>([
    ['10.1.2.3', 'private'],
    ['192.168.10.20', 'private'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link_local'],
    ['::1', 'loopback'],
    ['fe80::1', 'link_local'],
    ['fd00::1', 'private'],
    ['::ffff:172.16.0.1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['198.51.100.7', 'reserved'],
    ['2001:db8::4', 'reserved'],
  ])('invents no location for %s (%s)', (ip, scope) => {
    const enriched = enricher.enrich(event(ip));
    expect(enriched.geo).toBeUndefined();
    expect(enriched.enrichment).toEqual({ geo_source: 'none', ip_scope: scope });
    expect(JSON.parse(JSON.stringify(enriched))).not.toHaveProperty('geo');
  });

  it('keeps what the IdP said about a private address: idp', () => {
    const enriched = enricher.enrich(event('10.1.2.3', { country: 'NL', asn: 24940 }));
    expect(enriched.geo).toEqual({ country: 'NL', asn: 24940 });
    expect(enriched.enrichment).toEqual({ geo_source: 'idp', ip_scope: 'private', hosting_provider: 'Hetzner' });
  });

  it('returns events that still meet the TokenRequest schema, as one JSON line with the enrichment object', () => {
    for (const ip of ['8.8.8.8', '2001:4860:4860::8888', '10.0.0.1', '1.1.1.1']) {
      const enriched = enricher.enrich(event(ip));
      const line = JSON.parse(JSON.stringify(enriched)) as Record<string, unknown>;
      expect(tokenRequestSchema.safeParse(line).success, ip).toBe(true);
      expect(line.enrichment).toEqual(enriched.enrichment);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Databases an operator drops in: MaxMind-format files in the GeoIP2/GeoLite2 shapes, written
// here by a small MMDB writer (format: https://maxmind.github.io/MaxMind-DB/), and range CSVs.

type MmdbValue = string | number | { readonly [key: string]: MmdbValue };

function encodeMmdb(value: MmdbValue | readonly MmdbValue[], asType?: 'uint16' | 'uint32' | 'uint64'): Buffer {
  const control = (type: number, size: number, extra: Buffer = Buffer.alloc(0)) => {
    if (size >= 29 + 256) throw new Error('the test writer handles sizes below 285 only');
    const head = size < 29 ? [size] : [29, size - 29]; // size 29..284: marker 29, then size - 29
    const first = (type <= 7 ? type : 0) << 5;
    // For extended types the type byte follows the control byte, before any size byte.
    const bytes = type <= 7 ? [first | head[0]!, ...head.slice(1)] : [first | head[0]!, type - 7, ...head.slice(1)];
    return Buffer.concat([Buffer.from(bytes), extra]);
  };
  const uint = (n: number, type: number) => {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    return control(type, bytes.length, Buffer.from(bytes));
  };
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map((item) => encodeMmdb(item))]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return control(2, bytes.length, bytes);
  }
  if (typeof value === 'number') return uint(value, asType === 'uint16' ? 5 : asType === 'uint64' ? 9 : 6);
  const entries = Object.entries(value as Record<string, MmdbValue>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([key, item]) => [encodeMmdb(key), encodeMmdb(item)])]);
}

/** An IPv6 MaxMind DB (IPv4 networks under ::/96), 24-bit records. */
function writeMmdb(path: string, databaseType: string, networks: readonly [cidr: string, data: MmdbValue][]): void {
  type Slot = { node: number } | { data: number } | undefined;
  const nodes: [Slot, Slot][] = [[undefined, undefined]];
  const chunks: Buffer[] = [];
  let dataSize = 0;
  for (const [cidr, data] of networks) {
    const [address = '', bits = ''] = cidr.split('/');
    const parsed = parseIp(address);
    if (!parsed) throw new Error(cidr);
    const words = parsed.family === 4 ? [0, 0, 0, parsed.value] : parsed.words;
    const length = Number(bits) + (parsed.family === 4 ? 96 : 0);
    const encoded = encodeMmdb(data);
    const offset = dataSize;
    chunks.push(encoded);
    dataSize += encoded.length;
    let node = 0;
    for (let depth = 0; depth < length; depth += 1) {
      const bit = (words[depth >> 5]! >>> (31 - (depth & 31))) & 1;
      if (depth === length - 1) {
        nodes[node]![bit] = { data: offset };
      } else {
        const slot = nodes[node]![bit];
        if (slot && 'node' in slot) node = slot.node;
        else {
          nodes.push([undefined, undefined]);
          nodes[node]![bit] = { node: nodes.length - 1 };
          node = nodes.length - 1;
        }
      }
    }
  }
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const record = (slot: Slot) => (slot === undefined ? nodeCount : 'node' in slot ? slot.node : nodeCount + 16 + slot.data);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(record(left), i * 6, 3);
    tree.writeUIntBE(record(right), i * 6 + 3, 3);
  });
  const metadata = Buffer.concat([
    Buffer.from([(7 << 5) | 9]),
    encodeMmdb('node_count'), encodeMmdb(nodeCount, 'uint32'),
    encodeMmdb('record_size'), encodeMmdb(24, 'uint16'),
    encodeMmdb('ip_version'), encodeMmdb(6, 'uint16'),
    encodeMmdb('database_type'), encodeMmdb(databaseType),
    encodeMmdb('languages'), encodeMmdb(['en']),
    encodeMmdb('binary_format_major_version'), encodeMmdb(2, 'uint16'),
    encodeMmdb('binary_format_minor_version'), encodeMmdb(0, 'uint16'),
    encodeMmdb('build_epoch'), encodeMmdb(1_795_000_000, 'uint64'),
    encodeMmdb('description'), encodeMmdb({ en: 'tokenwatch test database' }),
  ]);
  writeFileSync(path, Buffer.concat([tree, Buffer.alloc(16), ...chunks, Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1'), metadata]));
}

describe('openEnricher with databases an operator gives', () => {
  let dir: string;
  let countryDb: string;
  let asnDb: string;
  beforeAll(() => {
    dir = tempDir();
    countryDb = join(dir, 'GeoLite2-Country.mmdb');
    asnDb = join(dir, 'GeoLite2-ASN.mmdb');
    writeMmdb(countryDb, 'GeoLite2-Country', [
      ['8.8.8.0/24', { country: { iso_code: 'NZ', names: { en: 'New Zealand' } } }],
      ['2001:4860::/32', { country: { iso_code: 'AU' } }],
      ['9.9.9.0/24', { country: { iso_code: 'not a code' } }],
    ]);
    writeMmdb(asnDb, 'GeoLite2-ASN', [
      ['8.8.8.0/24', { autonomous_system_number: 14061, autonomous_system_organization: 'DigitalOcean, LLC' }],
      ['2001:4860::/32', { autonomous_system_number: 64500, autonomous_system_organization: 'Example Net' }],
    ]);
  });

  it('reads GeoIP2/GeoLite2-shaped country and ASN databases from the given paths', async () => {
    const enricher = await openEnricher({ countryDbPath: countryDb, asnDbPath: asnDb });
    expect(enricher.databases).toEqual({ country: countryDb, asn: [asnDb] });
    expect(enricher.lookup('8.8.8.8')).toEqual({ country: 'NZ', asn: 14061, as_org: 'DigitalOcean, LLC' });
    expect(enricher.lookup('::ffff:8.8.4.4')).toEqual({});
    expect(enricher.lookup('2001:4860:4860::8888')).toEqual({ country: 'AU', asn: 64500, as_org: 'Example Net' });
    expect(enricher.lookup('9.9.9.9')).toEqual({}); // a value that is no ISO code is ignored
    expect(enricher.enrich(event('8.8.8.8')).enrichment).toEqual({ geo_source: 'lookup', ip_scope: 'public', hosting_provider: 'DigitalOcean' });
  });

  it("says 'none' for a public address the databases do not know", async () => {
    const enricher = await openEnricher({ countryDbPath: countryDb, asnDbPath: asnDb });
    const enriched = enricher.enrich(event('93.184.216.34'));
    expect(enriched.geo).toBeUndefined();
    expect(enriched.enrichment).toEqual({ geo_source: 'none', ip_scope: 'public' });
  });

  it('reads range CSVs: quoted names, IPv4 and IPv6 in one file, unsorted lines, overlaps', async () => {
    const csv = join(dir, 'asn.csv');
    writeFileSync(
      csv,
      [
        '8.8.8.0,8.8.8.255,15169,"Google, ""LLC"""',
        '1.0.0.0,1.0.0.255,13335,Cloudflare Inc',
        '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC',
        // overlaps the next: the later-starting range wins where they overlap
        '20.0.0.0,20.0.255.255,8075,Microsoft Corporation',
        '20.0.128.0,20.0.128.255,16509,"Amazon.com, Inc."',
        '2a01:4f8::,2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff,24940,Hetzner Online GmbH',
        '2a01:4f8:1::,2a01:4f8:1::ff,64501,',
        '',
      ].join('\r\n'),
    );
    const enricher = await openEnricher({ countryDbPath: countryDb, asnDbPath: csv });
    expect(enricher.lookup('8.8.8.8')).toEqual({ country: 'NZ', asn: 15169, as_org: 'Google, "LLC"' });
    expect(enricher.lookup('1.0.0.1')).toEqual({ asn: 13335, as_org: 'Cloudflare Inc' });
    expect(enricher.lookup('1.0.1.0')).toEqual({});
    expect(enricher.lookup('20.0.0.1')).toMatchObject({ asn: 8075 });
    expect(enricher.lookup('20.0.128.7')).toMatchObject({ asn: 16509 });
    expect(enricher.lookup('2001:4860:4860::8888')).toMatchObject({ asn: 15169 });
    expect(enricher.lookup('2a01:4f8::1')).toMatchObject({ asn: 24940 });
    expect(enricher.lookup('2a01:4f8:1::10')).toEqual({ asn: 64501 });
    // A range nested in another hides the rest of the outer one (bisection; see AsnRangeTable.overlaps).
    expect(enricher.lookup('2a01:4f8:1::100')).toEqual({});
    expect(enricher.lookup('2a01:4f9::1')).toEqual({});
  });

  it('fails with an Error naming the path for a missing or damaged file', async () => {
    const csv = defaultDatabasePaths().asn;
    const garbage = join(dir, 'garbage.mmdb');
    writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
    const truncated = join(dir, 'truncated.mmdb');
    const real = readFileSync(defaultDatabasePaths().country);
    writeFileSync(truncated, real.subarray(0, 1_000_000));
    const headless = join(dir, 'headless.mmdb');
    writeFileSync(headless, real.subarray(real.length - 200_000));
    const badCsv = join(dir, 'bad.csv');
    writeFileSync(badCsv, '1.0.0.0,1.0.0.255,13335,ok\n1.0.1.0,oops,13335,bad\n');
    const emptyCsv = join(dir, 'empty.csv');
    writeFileSync(emptyCsv, '');
    const missing = join(dir, 'missing.mmdb');

    const cases: [Parameters<typeof openEnricher>[0], string, RegExp][] = [
      [{ countryDbPath: missing, asnDbPath: asnDb }, missing, /ENOENT/],
      [{ countryDbPath: garbage, asnDbPath: asnDb }, garbage, /not a MaxMind DB/],
      [{ countryDbPath: truncated, asnDbPath: asnDb }, truncated, /not a MaxMind DB/],
      [{ countryDbPath: headless, asnDbPath: asnDb }, headless, /damaged/],
      [{ countryDbPath: csv[0]!, asnDbPath: asnDb }, csv[0]!, /not a MaxMind DB/],
      [{ countryDbPath: countryDb, asnDbPath: missing }, missing, /ENOENT/],
      [{ countryDbPath: countryDb, asnDbPath: badCsv }, `${badCsv} line 2`, /bad IPv4 range/],
      [{ countryDbPath: countryDb, asnDbPath: emptyCsv }, emptyCsv, /no ranges/],
      [{ countryDbPath: countryDb, asnDbPath: dir }, dir, /EISDIR/],
      [{ countryDbPath: countryDb, asnDbPath: [asnDb, badCsv] }, asnDb, /only ASN database/],
    ];
    for (const [options, path, reason] of cases) {
      const error = await openEnricher(options).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, JSON.stringify(options)).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(reason);
    }
  });

  // The address cache: each address's lookup, and the geo and enrichment of events from it that
  // carry no geo of their own, are worked out once and shared.
  it('keeps its address cache within twice its size, answering as an uncached enricher does', async () => {
    const csv = join(dir, 'cache-asn.csv');
    writeFileSync(csv, '8.8.8.0,8.8.8.255,15169,Google LLC\n20.0.0.0,20.0.255.255,8075,Microsoft Corporation\n');
    const small = await openEnricher({ countryDbPath: countryDb, asnDbPath: csv, addressCacheSize: 16 });
    const fresh = () => openEnricher({ countryDbPath: countryDb, asnDbPath: csv, addressCacheSize: 16 });
    const addresses = Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? `8.8.8.${i % 256}` : i % 3 === 1 ? `20.0.${i % 256}.1` : `10.0.0.${i % 256}`));
    for (const [i, address] of addresses.entries()) {
      small.enrich(event(address));
      expect(small.cachedAddresses, `after ${i + 1} addresses`).toBeLessThanOrEqual(32);
    }
    expect(small.cachedAddresses).toBeGreaterThan(16);
    // Cached, evicted and cached again: the same answers as an enricher that has seen nothing.
    for (const address of [...addresses.slice(0, 40), ...addresses.slice(-40)]) {
      expect(small.enrich(event(address)), address).toEqual((await fresh()).enrich(event(address)));
    }
  });

  it('serves a cached result only to events without a geo of their own, and shares it frozen', async () => {
    const enricher = await openEnricher({ countryDbPath: countryDb, asnDbPath: asnDb });
    const first = enricher.enrich(event('8.8.8.8'));
    expect(first.geo).toEqual({ country: 'NZ', asn: 14061, as_org: 'DigitalOcean, LLC' });
    expect(first.enrichment).toEqual({ geo_source: 'lookup', ip_scope: 'public', hosting_provider: 'DigitalOcean' });
    // The IdP's geo wins over the cached lookup, field by field.
    const withGeo = enricher.enrich(event('8.8.8.8', { country: 'DE', asn: 24940 }));
    expect(withGeo.geo).toEqual({ country: 'DE', asn: 24940 });
    expect(withGeo.enrichment).toEqual({ geo_source: 'idp', ip_scope: 'public', hosting_provider: 'Hetzner' });
    const again = enricher.enrich(event('8.8.8.8'));
    expect(again.geo).toEqual(first.geo);
    expect(again.enrichment).toBe(first.enrichment);
    expect(Object.isFrozen(again.enrichment) && Object.isFrozen(again.geo)).toBe(true);
  });

  it('keeps one cache per enricher: other databases answer for the same address with their own data', async () => {
    const [nz, other] = [join(dir, 'cache-a.csv'), join(dir, 'cache-b.csv')];
    writeFileSync(nz, '8.8.8.0,8.8.8.255,15169,Google LLC\n');
    writeFileSync(other, '8.8.8.0,8.8.8.255,24940,Hetzner Online GmbH\n');
    const before = await openEnricher({ countryDbPath: countryDb, asnDbPath: nz });
    expect(before.enrich(event('8.8.8.8')).geo).toMatchObject({ asn: 15169 });
    // As after a restart with TOKENWATCH_GEOIP_ASN_DB pointing elsewhere.
    const after = await openEnricher({ countryDbPath: countryDb, asnDbPath: other });
    expect(after.enrich(event('8.8.8.8'))).toMatchObject({ geo: { asn: 24940, as_org: 'Hetzner Online GmbH' }, enrichment: { hosting_provider: 'Hetzner' } });
    expect(before.enrich(event('8.8.8.8')).geo).toMatchObject({ asn: 15169 });
  });

  it('resolves the default paths inside the installed packages', () => {
    const require = createRequire(import.meta.url);
    expect(defaultDatabasePaths()).toEqual({
      country: require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'),
      asn: [require.resolve('@ip-location-db/asn/asn-ipv4.csv'), require.resolve('@ip-location-db/asn/asn-ipv6.csv')],
    });
  });
});
