import { readFile } from 'node:fs/promises';
import { parseIPv4, parseIPv6, type ParsedIp } from './ip-scope.js';

/**
 * An IP-range-to-ASN table read from CSV lines `range_start,range_end,asn,organization`
 * (inclusive ranges, addresses as text, the organization optionally quoted), the format of the
 * @ip-location-db/asn package (asn-ipv4.csv, asn-ipv6.csv). IPv4 and IPv6 lines may share a
 * file or come from several files.
 *
 * Held as typed arrays and searched by bisection: ~412,000 IPv4 and ~103,000 IPv6 ranges take
 * about 12 MB and a lookup a fraction of a microsecond.
 */

export interface AsnRecord {
  readonly asn: number;
  readonly org: string | undefined;
}

export interface AsnRangeTable {
  lookup(ip: ParsedIp): AsnRecord | undefined;
  readonly ranges: { readonly ipv4: number; readonly ipv6: number };
  /**
   * Ranges that overlap the one before them (the published data has a few). Bisection finds the
   * range with the last start at or below an address, so where two overlap the later-starting
   * (as a rule the narrower, more specific) one answers, and past its end the earlier one does not.
   */
  readonly overlaps: number;
}

interface Builder {
  starts: number[];
  ends: number[];
  asns: number[];
  orgs: number[];
}

const newBuilder = (): Builder => ({ starts: [], ends: [], asns: [], orgs: [] });

/** Loads and merges the given CSV files; throws an Error naming the file (and line) on bad input. */
export async function loadAsnCsv(paths: readonly string[]): Promise<AsnRangeTable> {
  const { orgNames, v4, v6 } = await parseFiles(paths);
  const table4 = freeze4(v4);
  const table6 = freeze6(v6);
  const record = (asns: Uint32Array, orgs: Int32Array, i: number): AsnRecord => {
    const org = orgs[i]!;
    return { asn: asns[i]!, org: org === -1 ? undefined : orgNames[org] };
  };

  return {
    ranges: { ipv4: table4.asns.length, ipv6: table6.asns.length },
    overlaps: table4.overlaps + table6.overlaps,
    lookup(ip) {
      if (ip.family === 4) {
        const { starts, ends, asns, orgs } = table4;
        const value = ip.value;
        let lo = 0;
        let hi = starts.length - 1;
        let found = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >>> 1;
          if (starts[mid]! <= value) {
            found = mid;
            lo = mid + 1;
          } else hi = mid - 1;
        }
        return found !== -1 && value <= ends[found]! ? record(asns, orgs, found) : undefined;
      }
      const { starts, ends, asns, orgs } = table6;
      const w = ip.words;
      let lo = 0;
      let hi = asns.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (compareAt(starts, mid, w) <= 0) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found !== -1 && compareAt(ends, found, w) >= 0 ? record(asns, orgs, found) : undefined;
    },
  };
}

async function parseFiles(paths: readonly string[]): Promise<{ orgNames: string[]; v4: Builder; v6: Builder }> {
  const orgNames: string[] = [];
  const orgIndex = new Map<string, number>();
  const v4 = newBuilder();
  // IPv6 bounds as four words each, in one flat array per bound.
  const v6 = newBuilder();

  let lastName = '';
  let lastIndex = -1;
  const internOrg = (name: string): number => {
    if (name === lastName) return lastIndex; // neighbouring ranges often share their holder
    lastName = name;
    let index = orgIndex.get(name);
    if (index === undefined) {
      index = orgNames.length;
      // A copy: a slice of the file's text would keep the whole text alive.
      orgNames.push(Buffer.from(name, 'utf8').toString('utf8'));
      orgIndex.set(name, index);
    }
    lastIndex = index;
    return index;
  };

  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ASN database ${path}: ${(error as Error).message}`);
    }
    let lineNumber = 0;
    let rows = 0;
    let position = 0;
    while (position < text.length) {
      let lineEnd = text.indexOf('\n', position);
      if (lineEnd === -1) lineEnd = text.length;
      lineNumber += 1;
      const line = text.charCodeAt(lineEnd - 1) === 13 ? text.slice(position, lineEnd - 1) : text.slice(position, lineEnd);
      position = lineEnd + 1;
      if (line.length === 0) continue;
      const bad = (why: string) =>
        new Error(`ASN database ${path} line ${lineNumber}: ${why} (expected range_start,range_end,asn,organization)`);
      const c1 = line.indexOf(',');
      const c2 = c1 === -1 ? -1 : line.indexOf(',', c1 + 1);
      const c3 = c2 === -1 ? -1 : line.indexOf(',', c2 + 1);
      if (c2 === -1) throw bad('too few fields');
      const asnText = c3 === -1 ? line.slice(c2 + 1) : line.slice(c2 + 1, c3);
      const asn = Number(asnText);
      if (!/^\d+$/.test(asnText) || asn > 4_294_967_295) throw bad(`bad ASN ${JSON.stringify(asnText.slice(0, 32))}`);
      const org = c3 === -1 ? '' : unquote(line.slice(c3 + 1));
      const startText = line.slice(0, c1);
      const endText = line.slice(c1 + 1, c2);
      rows += 1;
      if (startText.includes(':')) {
        const start = parseIPv6(startText);
        const end = parseIPv6(endText);
        if (!start || !end) throw bad('bad IPv6 range');
        if (compare6(start, end) > 0) throw bad('range start after its end');
        v6.starts.push(...start);
        v6.ends.push(...end);
        push(v6, asn, org ? internOrg(org) : -1);
      } else {
        const start = parseIPv4(startText);
        const end = parseIPv4(endText);
        if (start === undefined || end === undefined) throw bad('bad IPv4 range');
        if (start > end) throw bad('range start after its end');
        v4.starts.push(start);
        v4.ends.push(end);
        push(v4, asn, org ? internOrg(org) : -1);
      }
    }
    if (rows === 0) throw new Error(`ASN database ${path} holds no ranges`);
  }
  return { orgNames, v4, v6 };
}

function push(builder: Builder, asn: number, org: number): void {
  builder.asns.push(asn);
  builder.orgs.push(org);
}

/** A CSV field: `"a ""b"", c"` -> `a "b", c`. */
function unquote(field: string): string {
  const trimmed = field.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) return trimmed.slice(1, -1).replaceAll('""', '"');
  return trimmed;
}

/** Compares bound `i` of `a` with bound `j` of `b` (four words each). */
function compareBounds(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let k = 0; k < 4; k += 1) {
    const x = a[i * 4 + k]!;
    const y = b[j * 4 + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function compare6(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < 4; k += 1) {
    if (a[k]! !== b[k]!) return a[k]! < b[k]! ? -1 : 1;
  }
  return 0;
}

/** Compares the bound at `index` (four words) with the address `w`. */
function compareAt(bounds: Uint32Array, index: number, w: readonly number[]): number {
  const base = index * 4;
  for (let k = 0; k < 4; k += 1) {
    const x = bounds[base + k]!;
    const y = w[k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The order of the ranges by start (the files are sorted already, as a rule). */
function order(count: number, compareStarts: (a: number, b: number) => number): number[] {
  const indices = Array.from({ length: count }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < count && sorted; i += 1) sorted = compareStarts(i - 1, i) <= 0;
  if (!sorted) indices.sort(compareStarts);
  return indices;
}

function freeze4(builder: Builder) {
  const count = builder.asns.length;
  let overlaps = 0;
  const indices = order(count, (a, b) => builder.starts[a]! - builder.starts[b]!);
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  const asns = new Uint32Array(count);
  const orgs = new Int32Array(count);
  indices.forEach((from, to) => {
    starts[to] = builder.starts[from]!;
    ends[to] = builder.ends[from]!;
    asns[to] = builder.asns[from]!;
    orgs[to] = builder.orgs[from]!;
    if (to > 0 && starts[to]! <= ends[to - 1]!) overlaps += 1;
  });
  return { starts, ends, asns, orgs, overlaps };
}

function freeze6(builder: Builder) {
  const count = builder.asns.length;
  let overlaps = 0;
  const startOf = (i: number) => builder.starts.slice(i * 4, i * 4 + 4);
  const indices = order(count, (a, b) => compare6(startOf(a), startOf(b)));
  const starts = new Uint32Array(count * 4);
  const ends = new Uint32Array(count * 4);
  const asns = new Uint32Array(count);
  const orgs = new Int32Array(count);
  indices.forEach((from, to) => {
    for (let k = 0; k < 4; k += 1) {
      starts[to * 4 + k] = builder.starts[from * 4 + k]!;
      ends[to * 4 + k] = builder.ends[from * 4 + k]!;
    }
    asns[to] = builder.asns[from]!;
    orgs[to] = builder.orgs[from]!;
    if (to > 0 && compareBounds(starts, to, ends, to - 1) <= 0) overlaps += 1;
  });
  return { starts, ends, asns, orgs, overlaps };
}
