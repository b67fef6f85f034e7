import { open as openFile, stat, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { open as openMmdb, type Reader, type Response } from 'maxmind';
import type { TokenRequest } from '@tokenwatch/shared/events/token-request';
import { loadAsnCsv, type AsnRecord } from './asn-ranges.js';
import { hostingProvider } from './hosting-asns.js';
import { classifyIp, type ClassifiedIp, type IpScope } from './ip-scope.js';

/**
 * Offline IP enrichment for the ingest path: where the IdP gave no country or ASN, look the
 * source address up in local databases. Nothing leaves the process and nothing is fetched.
 *
 * - Country: a MaxMind-format (.mmdb) database, read with the `maxmind` reader. Records in the
 *   ip-location-db shape ({country_code}) and in the GeoIP2/GeoLite2/DB-IP shape
 *   ({country: {iso_code}}) both work. Default: geo-whois-asn-country.mmdb from
 *   @ip-location-db/geo-whois-asn-country-mmdb (IPv4 + IPv6).
 * - ASN: either a MaxMind-format ASN database ({autonomous_system_number,
 *   autonomous_system_organization}, as GeoLite2-ASN and ip-location-db's asn.mmdb) or one or more
 *   IP-range CSV files (range_start,range_end,asn,organization). Default: asn-ipv4.csv and
 *   asn-ipv6.csv from @ip-location-db/asn (no ASN .mmdb package is published on npm).
 *
 * Rules, per event:
 * - Only public addresses are looked up. Private, loopback, link-local, unspecified and reserved
 *   (documentation, multicast, ...) addresses get no location from us.
 * - The IdP's geo wins field by field; the lookup fills only a missing country, asn or as_org.
 *   It fills as_org only with the organisation of the ASN the event ends up with, so an IdP's
 *   ASN is never paired with another network's name. An asn of 0 (AS0, RFC 7607: "no AS")
 *   counts as missing.
 * - geo_source: 'idp' (only the IdP's fields), 'lookup' (only ours), 'mixed' (both), 'none'.
 * - hosting_provider: the cloud/hosting/CDN provider of the final ASN, from hosting-asns.json.
 */

export type GeoSource = 'idp' | 'lookup' | 'mixed' | 'none';

export interface Enrichment {
  readonly geo_source: GeoSource;
  readonly ip_scope: IpScope;
  readonly hosting_provider?: string;
}

export type EnrichedTokenRequest = TokenRequest & { readonly enrichment: Enrichment };

export interface LookupResult {
  readonly country?: string;
  readonly asn?: number;
  readonly as_org?: string;
}

export interface Enricher {
  /**
   * Returns a copy of the event with geo completed and `enrichment` added; never throws. Every
   * field is a key of the copy (one shape for all), `undefined` where the event has none; the
   * geo and enrichment objects are frozen and may be shared between events.
   */
  enrich(event: TokenRequest): EnrichedTokenRequest;
  /** What the databases say about an address (nothing for non-public addresses). */
  lookup(ip: string): LookupResult;
  /** The files in use, for the start-up log. */
  readonly databases: { readonly country: string; readonly asn: readonly string[] };
  /** Cache entries held (an address with its lookup and enrichment): never more than twice the cache size. */
  readonly cachedAddresses: number;
}

export interface EnricherOptions {
  /** A MaxMind-format country database. */
  readonly countryDbPath?: string;
  /** A MaxMind-format ASN database, or IP-range CSV file(s) (IPv4 and IPv6 may be separate files). */
  readonly asnDbPath?: string | readonly string[];
  /** Addresses per cache generation (two are kept); DEFAULT_ADDRESS_CACHE_SIZE unless a test needs a small one. */
  readonly addressCacheSize?: number;
}

const COUNTRY_PACKAGE_FILE = '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb';
const ASN_PACKAGE_FILES = ['@ip-location-db/asn/asn-ipv4.csv', '@ip-location-db/asn/asn-ipv6.csv'] as const;

/** The databases installed with tokenwatch (inside their npm packages). */
export function defaultDatabasePaths(): { country: string; asn: string[] } {
  return { country: resolvePackaged(COUNTRY_PACKAGE_FILE), asn: ASN_PACKAGE_FILES.map(resolvePackaged) };
}

function resolvePackaged(file: string): string {
  try {
    return createRequire(import.meta.url).resolve(file);
  } catch {
    throw new Error(`the default GeoIP database ${file} is not installed (run npm install, or give a database path)`);
  }
}

const COUNTRY_CODE = /^[A-Z]{2}$/;
const AS_ORG_MAX = 256; // the TokenRequest schema's limit for geo.as_org
const MMDB_MARKER = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');
const MMDB_METADATA_MAX = 128 * 1024; // the metadata section lies within the file's last 128 KiB

type LookupFn = (ip: ClassifiedIp) => LookupResult | undefined;
interface Classified {
  readonly scope: IpScope;
  readonly ip: ClassifiedIp | undefined;
  /** What the databases hold for the address (nothing unless it is public); looked up when first needed. */
  found?: LookupResult;
  /** The geo and enrichment of an event from the address that carries no geo of its own; made when first needed. */
  completed?: Completed;
}
type Geo = NonNullable<TokenRequest['geo']>;
interface Completed {
  readonly geo: Readonly<Geo> | undefined;
  readonly enrichment: Enrichment;
}
const NOTHING: LookupResult = Object.freeze({});
export const DEFAULT_ADDRESS_CACHE_SIZE = 50_000;

export async function openEnricher(options: EnricherOptions = {}): Promise<Enricher> {
  const countryPath = options.countryDbPath ?? resolvePackaged(COUNTRY_PACKAGE_FILE);
  const asnOption = options.asnDbPath ?? ASN_PACKAGE_FILES.map(resolvePackaged);
  const asnPaths = typeof asnOption === 'string' ? [asnOption] : [...asnOption];
  if (asnPaths.length === 0) throw new Error('no ASN database path given');

  const lookupCountry = await openCountry(countryPath);
  const lookupAsn = await openAsn(asnPaths);

  const lookup = (ip: ClassifiedIp): LookupResult => {
    if (ip.scope !== 'public') return NOTHING;
    const asn = lookupAsn(ip);
    const country = lookupCountry(ip);
    // Frozen: one result object is handed out for every event from the same address.
    if (!asn) return country ? Object.freeze(country) : NOTHING;
    return Object.freeze(country ? { ...asn, ...country } : asn);
  };

  // Machine clients call from a few addresses each, so most events repeat an address seen
  // shortly before: remember the last cacheSize..2*cacheSize addresses (two generations). The
  // cache belongs to this enricher, i.e. to the databases it opened: other databases (other
  // settings, another process) start with an empty one.
  const cacheSize = options.addressCacheSize ?? DEFAULT_ADDRESS_CACHE_SIZE;
  let recent = new Map<string, Classified>();
  let older = new Map<string, Classified>();
  const classify = (ip: string): Classified => {
    let hit = recent.get(ip);
    if (hit) return hit;
    hit = older.get(ip);
    if (!hit) {
      const classified = classifyIp(ip);
      hit = { scope: classified?.scope ?? 'reserved', ip: classified };
    }
    if (recent.size >= cacheSize) {
      older = recent;
      recent = new Map();
    }
    recent.set(ip, hit);
    return hit;
  };

  const found = (entry: Classified): LookupResult => {
    entry.found ??= entry.ip ? lookup(entry.ip) : NOTHING;
    return entry.found;
  };

  return {
    databases: { country: countryPath, asn: asnPaths },
    get cachedAddresses() {
      return recent.size + older.size;
    },
    lookup(ip) {
      return found(classify(ip));
    },
    enrich(event) {
      const entry = classify(event.source_ip);
      // Many events carry no geo of their own (canonical events, the tap, Keycloak, Cognito):
      // what they get then depends on the address alone, so it is worked out once per cached address.
      if (event.geo === undefined) {
        entry.completed ??= completeGeo(entry, undefined);
        return withEnrichment(event, entry.completed);
      }
      return withEnrichment(event, completeGeo(entry, event.geo));
    },
  };

  /** The event's geo completed from the databases, and what was done; `given`: the IdP's geo. */
  function completeGeo(entry: Classified, given: Geo | undefined): Completed {
    const scope = entry.scope;
    const idpAsn = given?.asn !== undefined && given.asn !== 0 ? given.asn : undefined;
    const idpGave = given !== undefined && (given.country !== undefined || given.city !== undefined || idpAsn !== undefined || given.as_org !== undefined);

    let country = given?.country;
    let asn = idpAsn;
    let asOrg = given?.as_org;
    let looked = false;
    const needs = country === undefined || asn === undefined || asOrg === undefined;
    if (needs && scope === 'public') {
      const fromDb = found(entry);
      if (country === undefined && fromDb.country !== undefined) {
        country = fromDb.country;
        looked = true;
      }
      if (asn === undefined && fromDb.asn !== undefined) {
        asn = fromDb.asn;
        looked = true;
      }
      if (asOrg === undefined && fromDb.as_org !== undefined && fromDb.asn === asn) {
        asOrg = fromDb.as_org;
        looked = true;
      }
    }

    // Built imperatively: object rest/spread with conditional parts costs microseconds here.
    const geo: Geo = {};
    let fields = 0;
    if (country !== undefined) {
      geo.country = country;
      fields += 1;
    }
    if (given?.city !== undefined) {
      geo.city = given.city;
      fields += 1;
    }
    const finalAsn = asn ?? given?.asn; // an IdP's 0 stays when nothing replaced it
    if (finalAsn !== undefined) {
      geo.asn = finalAsn;
      fields += 1;
    }
    if (asOrg !== undefined) {
      geo.as_org = asOrg;
      fields += 1;
    }
    const provider = hostingProvider(asn);
    const source: GeoSource = idpGave ? (looked ? 'mixed' : 'idp') : looked ? 'lookup' : 'none';
    const enrichment: Enrichment =
      provider === undefined ? { geo_source: source, ip_scope: scope } : { geo_source: source, ip_scope: scope, hosting_provider: provider };
    // Frozen: a cached result is shared by every event from the address. An empty geo stays out.
    return { geo: fields > 0 ? Object.freeze(geo) : undefined, enrichment: Object.freeze(enrichment) };
  }
}

/**
 * A copy of the event with its geo and enrichment: one object literal, every field named.
 * `{ ...event, geo, enrichment }` costs 2-3 µs an event in V8 (a spread followed by more
 * properties leaves the fast clone path); this costs a tenth of that, and every enriched event
 * has the same shape. A field the event lacks is present as `undefined` (JSON leaves it out).
 * The `satisfies` clause keeps the list whole: a field added to the schema and not copied here
 * fails the build instead of going missing from storage.
 */
function withEnrichment(event: TokenRequest, { geo, enrichment }: Completed): EnrichedTokenRequest {
  return {
    event_id: event.event_id,
    time: event.time,
    idp: event.idp,
    tenant: event.tenant,
    client_id: event.client_id,
    client_name: event.client_name,
    grant_type: event.grant_type,
    auth_method: event.auth_method,
    credential_id: event.credential_id,
    outcome: event.outcome,
    error_code: event.error_code,
    source_ip: event.source_ip,
    user_agent: event.user_agent,
    scopes: event.scopes,
    audience: event.audience,
    assertion: event.assertion,
    replay_reported: event.replay_reported,
    assertion_unverified: event.assertion_unverified,
    geo,
    enrichment,
  } satisfies { [Field in keyof Required<TokenRequest>]: TokenRequest[Field] } & { enrichment: Enrichment };
}

/** Whether the file is a MaxMind DB (its metadata marker lies in the last 128 KiB). */
async function isMaxMindDb(path: string, what: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await openFile(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, MMDB_METADATA_MAX);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    return tail.lastIndexOf(MMDB_MARKER) !== -1;
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  } finally {
    await handle?.close();
  }
}

async function openMaxMind(path: string, what: string): Promise<Reader<Response>> {
  if (!(await isMaxMindDb(path, what))) throw new Error(`${what} ${path} is not a MaxMind DB (.mmdb) file`);
  let reader: Reader<Response>;
  let size: number;
  try {
    size = (await stat(path)).size;
    reader = await openMmdb<Response>(path);
  } catch (error) {
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  // The reader checks only the metadata; a truncated or damaged search tree would show up as
  // wrong answers or throws per lookup. Check that the tree fits and that a walk works.
  const { searchTreeSize, ipVersion } = reader.metadata;
  if (!Number.isFinite(searchTreeSize) || searchTreeSize + 16 > size) {
    throw new Error(`${what} ${path} is damaged: its search tree (${searchTreeSize} bytes) does not fit in the file (${size} bytes)`);
  }
  try {
    for (const probe of ipVersion === 6 ? ['1.1.1.1', '2001:4860::1', '::'] : ['1.1.1.1', '0.0.0.0']) reader.get(probe);
  } catch (error) {
    throw new Error(`${what} ${path} is damaged: a test lookup failed: ${(error as Error).message}`);
  }
  return reader;
}

async function openCountry(path: string): Promise<LookupFn> {
  const reader = await openMaxMind(path, 'GeoIP country database');
  return (ip) => {
    const record = safeGet(reader, ip.lookupText);
    const code = countryOf(record);
    return code === undefined ? undefined : { country: code };
  };
}

async function openAsn(paths: readonly string[]): Promise<LookupFn> {
  const [first] = paths;
  if (paths.length === 1 && first !== undefined && (await isMaxMindDb(first, 'ASN database'))) {
    const reader = await openMaxMind(first, 'ASN database');
    return (ip) => asnOf(safeGet(reader, ip.lookupText));
  }
  for (const path of paths) {
    if (await isMaxMindDb(path, 'ASN database')) {
      throw new Error(`ASN database ${path} is a MaxMind DB: give it as the only ASN database path`);
    }
  }
  const table = await loadAsnCsv(paths);
  return (ip) => {
    const found = table.lookup(ip.lookup);
    return found && asnResult(found);
  };
}

function safeGet(reader: Reader<Response>, ip: string): Record<string, unknown> | undefined {
  try {
    return (reader.get(ip) ?? undefined) as Record<string, unknown> | undefined;
  } catch {
    return undefined; // an address the reader cannot take: an IPv6 address in an IPv4-only database
  }
}

function countryOf(record: Record<string, unknown> | undefined): string | undefined {
  if (!record) return undefined;
  const nested = record.country as { iso_code?: unknown } | undefined;
  const code = record.country_code ?? nested?.iso_code;
  if (typeof code !== 'string') return undefined;
  const upper = code.toUpperCase();
  return COUNTRY_CODE.test(upper) ? upper : undefined;
}

function asnOf(record: Record<string, unknown> | undefined): LookupResult | undefined {
  if (!record) return undefined;
  const asn = record.autonomous_system_number;
  const org = record.autonomous_system_organization;
  if (typeof asn !== 'number') return undefined;
  return asnResult({ asn, org: typeof org === 'string' ? org : undefined });
}

function asnResult({ asn, org }: AsnRecord): LookupResult | undefined {
  if (!Number.isInteger(asn) || asn <= 0 || asn > 4_294_967_295) return undefined;
  const name = org?.trim().slice(0, AS_ORG_MAX);
  return name ? { asn, as_org: name } : { asn };
}
