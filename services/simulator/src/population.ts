import type { AuthMethod, Idp } from '@tokenwatch/shared/events/token-request';
import { HOME_NETWORKS, PARTNER_NETWORKS, networkById, type Network } from './networks.js';
import { Rng, hashString } from './prng.js';

/**
 * Who makes token requests: tenants (one IdP each) and their machine clients, with how and when
 * each one asks for tokens. Pure data, derived from the seed and the client count only, so the
 * same population can be backfilled and then continued live.
 */

/** The IdPs simulated; `oidc-provider` is the tenant seen through the assertion tap. */
export type SimIdp = Extract<Idp, 'okta' | 'auth0' | 'entra' | 'keycloak' | 'oidc-provider'>;

export interface Tenant {
  /** The `tenant` value events carry (what the IdP's adapter reads as the tenant). */
  readonly tenant: string;
  readonly idp: SimIdp;
  /** Human name: Okta's authorization server name, Auth0's hostname, Keycloak's realm id. */
  readonly label: string;
  readonly tokenEndpoint: string;
  /** Vendor id of the tenant where the log has one beside `tenant` (Keycloak realmId, Okta org). */
  readonly vendorId: string;
}

export type ClientKind = 'service' | 'cron' | 'batch' | 'ci' | 'partner';

export type Schedule =
  /** Mints a token per request (no cache): a Poisson process following the daily load curve. */
  | { readonly type: 'per_request'; readonly perMinute: number; readonly amplitude: number; readonly peakHour: number; readonly weekend: number }
  /** Caches one token per instance and refreshes it before expiry; instances follow the load. */
  | { readonly type: 'cached'; readonly minInstances: number; readonly maxInstances: number; readonly ttlSeconds: number; readonly peakHour: number }
  /** A scheduled job every N minutes at a fixed offset. */
  | { readonly type: 'cron'; readonly everyMinutes: number; readonly offsetSeconds: number; readonly tokensPerRun: number }
  /** A nightly batch: workers each mint a token within a window starting at a fixed local time. */
  | { readonly type: 'batch'; readonly localMinuteOfDay: number; readonly tokens: number; readonly spreadMinutes: number }
  /** A weekly (day: 0 = Sunday ... 6) or monthly (first run on day 1-28 of the month, then every 28-33 days) job, local time. */
  | { readonly type: 'calendar'; readonly period: 'week' | 'month'; readonly day: number; readonly localMinuteOfDay: number; readonly tokens: number; readonly spreadMinutes: number }
  /** CI builds on weekdays in working hours, each minting one to a few tokens. */
  | { readonly type: 'ci'; readonly buildsPerHour: number; readonly tokensPerBuild: number };

export interface AssertionProfile {
  readonly alg: 'RS256' | 'ES256' | 'PS256';
  /** exp - iat: RFC 7523 clients use one to five minutes. */
  readonly lifetimeSeconds: number;
  readonly kidPrefix: string;
}

export interface Client {
  readonly index: number;
  readonly tenant: Tenant;
  readonly clientId: string;
  readonly name: string;
  readonly kind: ClientKind;
  readonly authMethod: AuthMethod;
  /** Where it runs. Secret clients have exactly one network: a second would be a new location. */
  readonly networks: readonly Network[];
  readonly schedule: Schedule;
  /** The HTTP library part of the user agent; the app's own version changes with deploys. */
  readonly library: string;
  readonly scopes: readonly string[];
  readonly audience: string;
  readonly assertion?: AssertionProfile;
  /** Share of requests failing for benign reasons (a stale secret on one pod, a scope typo). */
  readonly failureRate: number;
  /** Mean requests per minute over a week, for volume estimates and attack sizing. */
  readonly meanPerMinute: number;
  /**
   * Days the client already ran before the simulation's start (its traffic then is emitted
   * too): weekly and monthly jobs need a few periods of history before their gaps look usual.
   */
  readonly historyDays: number;
}

/**
 * A monthly job's history: four runs, so its gaps are known before the simulation starts (its
 * first run within a month, then three gaps of at most 33 days).
 */
export const CALENDAR_HISTORY_DAYS = 135;

export interface Population {
  readonly tenants: readonly Tenant[];
  readonly clients: readonly Client[];
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function tenants(rng: Rng): Tenant[] {
  const okta = (label: string): Tenant => {
    const id = `aus${rng.chars(17, ALNUM)}`;
    return { tenant: id, idp: 'okta', label, tokenEndpoint: `https://acme.okta.com/oauth2/${id}/v1/token`, vendorId: id };
  };
  return [
    okta('orders-api'),
    okta('platform-api'),
    { tenant: 'acme-prod', idp: 'auth0', label: 'acme-prod.eu.auth0.com', tokenEndpoint: 'https://acme-prod.eu.auth0.com/oauth/token', vendorId: 'acme-prod' },
    (() => {
      const id = rng.uuid();
      return { tenant: id, idp: 'entra', label: 'acme.onmicrosoft.com', tokenEndpoint: `https://login.microsoftonline.com/${id}/oauth2/v2.0/token`, vendorId: id } as const;
    })(),
    { tenant: 'acme', idp: 'keycloak', label: 'acme', tokenEndpoint: 'https://sso.acme.example/realms/acme/protocol/openid-connect/token', vendorId: rng.uuid() },
    { tenant: 'https://auth.acme.example', idp: 'oidc-provider', label: 'auth.acme.example', tokenEndpoint: 'https://auth.acme.example/token', vendorId: 'auth.acme.example' },
  ];
}

/** Share of clients per tenant, in `tenants()` order. */
const TENANT_WEIGHTS = [0.15, 0.1, 0.2, 0.2, 0.15, 0.2] as const;

const AUTH_METHODS: Readonly<Record<SimIdp, readonly (readonly [AuthMethod, number])[]>> = {
  okta: [['client_secret_basic', 0.45], ['client_secret_post', 0.2], ['private_key_jwt', 0.35]],
  // Auth0 does not log the method: its machine clients are mostly secret clients, logged as `unknown`.
  auth0: [['unknown', 1]],
  entra: [['client_secret', 0.6], ['private_key_jwt', 0.4]],
  keycloak: [['client_secret', 0.7], ['private_key_jwt', 0.3]],
  'oidc-provider': [['private_key_jwt', 0.75], ['client_secret_basic', 0.15], ['client_secret_post', 0.1]],
};

const DOMAINS = ['orders', 'billing', 'inventory', 'payments', 'shipping', 'catalog', 'search', 'ledger', 'invoices', 'pricing', 'accounts', 'notifications', 'fraud', 'reports', 'analytics', 'crm', 'warehouse', 'returns', 'tax', 'identity', 'audit', 'media', 'loyalty', 'subscriptions'];
const SERVICE_ROLES = ['api', 'sync', 'worker', 'gateway', 'consumer', 'indexer', 'exporter', 'bff', 'scheduler', 'proxy'];
const CRON_ROLES = ['reconciler', 'cleanup', 'poller', 'refresher', 'healthcheck', 'digest'];
const BATCH_ROLES = ['nightly-export', 'etl', 'backup', 'settlement', 'rollup'];
const PARTNERS = ['globex', 'initech', 'umbrella', 'hooli', 'stark-logistics', 'wayne-freight', 'tyrell-data', 'cyberdyne-pay', 'soylent-foods', 'wonka-retail', 'vandelay-import', 'pied-piper'];
const LIBRARIES = ['okhttp/4.12.0', 'python-requests/2.32.3', 'Go-http-client/2.0', 'axios/1.7.7', 'Apache-HttpClient/5.3.1 (Java/21.0.4)', 'Java-http-client/17.0.11', 'node-fetch/1.0', '.NET/8.0 HttpClient', 'aiohttp/3.10.5', 'spring-security-oauth2-client/6.3.3'];
const CI_LIBRARIES = ['curl/8.5.0', 'python-requests/2.31.0', 'Go-http-client/2.0'];
/** Entra logs the resource's app id: Microsoft Graph, Key Vault, Azure Resource Manager, Storage, SQL. */
export const ENTRA_RESOURCES: Readonly<Record<string, string>> = {
  '00000003-0000-0000-c000-000000000000': 'Microsoft Graph',
  'cfa8b339-82a2-471a-a3c9-0fc0be7a4093': 'Azure Key Vault',
  '797f4846-ba00-4fd7-ba43-dac1f8f63013': 'Windows Azure Service Management API',
  'e406a681-f3d4-42a8-90b6-c2b029497af1': 'Azure Storage',
  '022907d3-0f1b-48f7-badc-1ba6abab6d66': 'Azure SQL Database',
};

function schedule(kind: ClientKind, rng: Rng): Schedule {
  const peakHour = rng.range(11, 16);
  switch (kind) {
    case 'service':
      // A third mint per request (no token cache): those carry most of the volume.
      return rng.chance(0.35)
        ? { type: 'per_request', perMinute: Math.exp(rng.range(Math.log(0.08), Math.log(1.5))), amplitude: rng.range(0.25, 0.6), peakHour, weekend: rng.range(0.6, 1) }
        : { type: 'cached', minInstances: rng.int(1, 4), maxInstances: 0, ttlSeconds: rng.weighted([[3600, 0.85], [300, 0.03], [1800, 0.12]]), peakHour };
    case 'cron':
      return { type: 'cron', everyMinutes: rng.weighted([[1, 0.03], [2, 0.05], [5, 0.25], [10, 0.15], [15, 0.2], [30, 0.1], [60, 0.15]]), offsetSeconds: rng.int(0, 59), tokensPerRun: rng.chance(0.8) ? 1 : rng.int(2, 3) };
    case 'batch':
      // A third of batch jobs run weekly or monthly rather than nightly.
      if (rng.chance(0.35)) {
        const period = rng.chance(0.5) ? 'week' : 'month';
        return { type: 'calendar', period, day: period === 'week' ? rng.int(0, 6) : rng.int(1, 28), localMinuteOfDay: rng.int(0, 5 * 60), tokens: rng.int(4, 60), spreadMinutes: rng.int(10, 40) };
      }
      return { type: 'batch', localMinuteOfDay: rng.int(0, 5 * 60), tokens: rng.int(4, 60), spreadMinutes: rng.int(10, 40) };
    case 'ci':
      return { type: 'ci', buildsPerHour: rng.range(1, 12), tokensPerBuild: rng.int(1, 3) };
    case 'partner':
      return rng.chance(0.6)
        ? { type: 'per_request', perMinute: Math.exp(rng.range(Math.log(0.03), Math.log(0.4))), amplitude: rng.range(0.3, 0.6), peakHour, weekend: rng.range(0.3, 0.9) }
        : { type: 'cached', minInstances: rng.int(1, 2), maxInstances: 0, ttlSeconds: 3600, peakHour };
  }
}

/** Cached services scale between min and max instances; fill in max now that min is known. */
function withInstances(value: Schedule, rng: Rng): Schedule {
  return value.type === 'cached' ? { ...value, maxInstances: value.minInstances + rng.int(0, 10) } : value;
}

/** Requests per minute averaged over a week (load curve and weekends included). */
export function meanPerMinute(value: Schedule): number {
  switch (value.type) {
    case 'per_request':
      return value.perMinute * (1 - value.amplitude / 2) * ((5 + 2 * value.weekend) / 7);
    case 'cached':
      return ((value.minInstances + value.maxInstances) / 2) / ((value.ttlSeconds * 0.875) / 60);
    case 'cron':
      return value.tokensPerRun / value.everyMinutes;
    case 'batch':
      return value.tokens / 1440;
    case 'calendar':
      return value.tokens / (value.period === 'week' ? 7 * 1440 : 30.4 * 1440);
    case 'ci':
      return (value.buildsPerHour * value.tokensPerBuild * 11 * 5) / (7 * 24 * 60);
  }
}

function clientNetworks(kind: ClientKind, authMethod: AuthMethod, rng: Rng): Network[] {
  if (kind === 'partner') return [rng.pick(PARTNER_NETWORKS)];
  // GitHub-hosted runners call from Azure; the rest run self-hosted runners at home.
  if (kind === 'ci' && rng.chance(0.5)) return [networkById('azure-eastus')];
  const home = rng.pick(HOME_NETWORKS);
  // Some key-based services run active-active in a second region of the same provider. Secret
  // clients never do here: for them a second network is exactly what the detector flags.
  if (authMethod === 'private_key_jwt' && kind === 'service' && rng.chance(0.25)) {
    const sibling = HOME_NETWORKS.filter((n) => n.provider === home.provider && n.id !== home.id);
    if (sibling.length > 0) return [home, rng.pick(sibling)];
  }
  return [home];
}

/** Clouds with an ASN each (AWS has two): a multi-region client uses three or four of them. */
const MULTI_REGION_NETWORKS = ['aws-us-east-1', 'aws-eu-west-1', 'gcp-us-central1', 'azure-eastus'] as const;

function multiRegionNetworks(rng: Rng): Network[] {
  return rng.shuffle(MULTI_REGION_NETWORKS.map((id) => networkById(id))).slice(0, rng.int(3, 4));
}

/** Mints per request, one to three a minute: every window sees every region. */
function multiRegionSchedule(rng: Rng): Schedule {
  return { type: 'per_request', perMinute: rng.range(1, 3), amplitude: rng.range(0.1, 0.3), peakHour: rng.range(11, 16), weekend: rng.range(0.8, 1) };
}

function clientName(kind: ClientKind, domain: string, rng: Rng): string {
  switch (kind) {
    case 'service':
      return `${domain}-${rng.pick(SERVICE_ROLES)}`;
    case 'cron':
      return `${domain}-${rng.pick(CRON_ROLES)}`;
    case 'batch':
      return `${domain}-${rng.pick(BATCH_ROLES)}`;
    case 'ci':
      return `ci-deploy-${domain}`;
    case 'partner':
      return `partner-${rng.pick(PARTNERS)}-${domain}`;
  }
}

function clientId(tenant: Tenant, name: string, rng: Rng): string {
  switch (tenant.idp) {
    case 'okta':
      return `0oa${rng.chars(17, ALNUM)}`;
    case 'auth0':
      return rng.chars(32, ALNUM);
    case 'entra':
      return rng.uuid();
    case 'keycloak':
      return `svc-${name}`;
    case 'oidc-provider':
      return name;
  }
}

function audience(tenant: Tenant, domain: string, rng: Rng): string {
  if (tenant.idp === 'entra') return rng.pick(Object.keys(ENTRA_RESOURCES));
  return `https://api.acme.example/${domain}`;
}

function busySchedule(rng: Rng): Schedule {
  return { type: 'per_request', perMinute: rng.range(1.5, 2.5), amplitude: rng.range(0.2, 0.4), peakHour: rng.range(11, 16), weekend: rng.range(0.8, 1) };
}

/** The volume knob: request rates (and autoscaled instances, CI builds) times `volume`. */
function scaled(value: Schedule, volume: number): Schedule {
  if (volume === 1) return value;
  switch (value.type) {
    case 'per_request':
      return { ...value, perMinute: value.perMinute * volume };
    case 'cached':
      return { ...value, minInstances: Math.max(1, Math.round(value.minInstances * volume)), maxInstances: Math.max(1, Math.round(value.maxInstances * volume)) };
    case 'ci':
      return { ...value, buildsPerHour: value.buildsPerHour * volume };
    case 'cron':
    case 'batch':
    case 'calendar':
      return value;
  }
}

/**
 * `volume` scales per-request rates, instance counts and CI builds (cron and nightly jobs keep
 * their schedule); the clients themselves are the same whatever the volume.
 */
export function buildPopulation(seed: number, clientCount: number, volume = 1): Population {
  const rng = new Rng(seed, hashString('population'));
  const tenantList = tenants(rng.fork(1));
  const names = new Set<string>();
  const clients: Client[] = [];
  for (let index = 0; index < clientCount; index++) {
    const r = rng.fork(1000 + index);
    const tenant = r.weighted(tenantList.map((t, i) => [t, TENANT_WEIGHTS[i] ?? 0] as const));
    // One client in 40 is a busy API minting per request: the mint_burst attack needs victims
    // whose normal rate is high enough for 20-50x of it to clear the detector's absolute floor.
    const busy = index % 40 === 7;
    // One client in 40 runs active-active in three or four clouds and mints from all of them
    // at once: concurrent_networks' benign look-alike (its usual is several ASNs per window).
    const multiRegion = index % 40 === 27;
    const kind = busy || multiRegion ? 'service' : r.weighted<ClientKind>([['service', 0.45], ['cron', 0.2], ['batch', 0.1], ['ci', 0.1], ['partner', 0.15]]);
    const authMethod = r.weighted(AUTH_METHODS[tenant.idp]);
    const domain = r.pick(DOMAINS);
    const base = clientName(kind, domain, r);
    let name = base;
    for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
    names.add(name);
    const sched = scaled(busy ? busySchedule(r) : multiRegion ? multiRegionSchedule(r) : withInstances(schedule(kind, r), r), volume);
    const scopes = [`${domain}:read`, ...(r.chance(0.5) ? [`${domain}:write`] : [])];
    clients.push({
      index,
      tenant,
      clientId: clientId(tenant, name, r),
      name,
      kind,
      authMethod,
      networks: multiRegion ? multiRegionNetworks(r) : clientNetworks(kind, authMethod, r),
      schedule: sched,
      library: kind === 'ci' ? r.pick(CI_LIBRARIES) : r.pick(LIBRARIES),
      scopes,
      audience: audience(tenant, domain, r),
      ...(authMethod === 'private_key_jwt'
        ? { assertion: { alg: r.weighted([['RS256', 0.6], ['ES256', 0.3], ['PS256', 0.1]] as const), lifetimeSeconds: r.pick([60, 120, 180, 300]), kidPrefix: `${name}-` } }
        : {}),
      failureRate: r.range(0.0002, 0.0015),
      meanPerMinute: meanPerMinute(sched),
      historyDays: sched.type === 'calendar' ? CALENDAR_HISTORY_DAYS : 0,
    });
  }
  return { tenants: tenantList, clients };
}
