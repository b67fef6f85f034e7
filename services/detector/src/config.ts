import { z } from 'zod';
import { AUTH_METHODS } from '@tokenwatch/shared/events/token-request';
import { DEFAULT_MAX_WINDOW_EVENTS } from '@tokenwatch/shared/storage/window-events';

/**
 * Detector thresholds, windows, per-client overrides and allowlists: the `detectors` section
 * of the configuration file (config/file.ts). Every default is explained in docs/detectors.md;
 * a value here is what tokenwatch does with no configuration file at all.
 */

const minutes = (fallback: number) => z.number().positive().default(fallback);

export const jtiReplayConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // How long an assertion without `exp` counts as valid, i.e. how far apart two uses of its
  // jti are still a replay.
  window_without_exp_minutes: minutes(60),
  // Assertion hygiene (low severity, one alert per client per day and issue).
  hygiene: z
    .strictObject({
      enabled: z.boolean().default(true),
      max_lifetime_minutes: minutes(5),
      max_clock_skew_seconds: z.number().nonnegative().default(60),
    })
    .prefault({}),
});

export const mintVolumeConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  bucket_minutes: z.number().int().min(1).max(60).default(5),
  baseline_days: z.number().int().min(1).max(90).default(14),
  // Same hour of week once the client has this many weeks of history, else all trailing buckets.
  hour_of_week_min_weeks: z.number().int().min(1).default(2),
  mad_k: z.number().positive().default(6),
  // A bucket must exceed all three to alert: median + k x MAD, the absolute floor, ratio x median.
  min_count: z.number().int().nonnegative().default(100),
  min_ratio: z.number().min(1).default(3),
  // A client with less history than this is judged against cold_start_cap per bucket.
  cold_start_hours: z.number().positive().default(24),
  cold_start_cap: z.number().int().positive().default(1_000),
  // Failed requests with these error codes (a guessed or stale secret) are their own finding.
  // IdPs name a failed client authentication differently: OAuth's invalid_client (Okta, the
  // tap), Keycloak's invalid_client_credentials, Entra's AADSTS 7000215 (wrong secret),
  // 7000222 (expired secret) and 700027 (bad assertion signature), Auth0's "Unauthorized".
  failure_error_codes: z
    .array(z.string().min(1))
    .default(['invalid_client', 'unauthorized_client', 'invalid_client_credentials', '7000215', '7000222', '700027', 'Unauthorized']),
  failure_min_count: z.number().int().positive().default(20),
  failure_min_ratio: z.number().min(1).default(5),
  // A burst alert resolves after this long without an anomalous bucket.
  resolve_after_minutes: minutes(30),
});

export const secretNewLocationConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // `unknown` by default: Auth0 does not log the method and most of its machine clients use secrets.
  methods: z
    .array(z.enum(AUTH_METHODS))
    .default(['client_secret_basic', 'client_secret_post', 'client_secret', 'client_secret_jwt', 'unknown']),
  lookback_days: z.number().int().min(1).max(365).default(30),
  learning_days: z.number().min(0).default(7),
  levels: z
    .strictObject({
      country: z.boolean().default(true),
      asn: z.boolean().default(true),
      network: z.boolean().default(false),
    })
    .prefault({}),
});

export const dormantClientConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // A month: shorter sleeps are holidays, long weekends and incident freezes.
  dormant_days: z.number().min(1).max(365).default(30),
  // The sleep must also exceed the client's longest gap so far by this factor: calendar-monthly
  // jobs sleep 28 to 31 days, quarterly ones 89 to 92, and a weekly job skipped once sleeps 14.
  gap_margin: z.number().min(1).default(1.5),
  // A client needs this much history before its sleep: a monthly job's second run is a wake
  // after a month of a client seen once.
  learning_days: z.number().min(0).default(7),
});

/**
 * Scopes and audiences whose first grant to a client is high, not medium: the admin,
 * management, export and write permissions of Okta, Microsoft Graph / Entra and the Auth0
 * Management API, and generic admin/export names. A pattern is an exact value (compared
 * case-insensitively) where `*` stands for any run of characters; matching is a left-to-right
 * scan for the literal pieces, never a regular expression (sensitive-scopes.ts).
 *
 * Entra's `.default` is not on the list: every Entra daemon asks for `<resource>/.default`
 * (it means "whatever application permissions the app holds"), so it says nothing about what
 * was granted; a first token for a new resource is already a new audience (medium).
 */
export const DEFAULT_SENSITIVE_SCOPES = [
  // Okta: okta.users.manage, okta.apps.manage, okta.roles.manage, okta.apiTokens.manage, ...
  'okta.*.manage',
  'okta.clients.register',
  // Microsoft Graph application permissions: Directory.ReadWrite.All, Application.ReadWrite.All,
  // RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All, Files.ReadWrite.All,
  // Mail.ReadWrite, ...; Sites.FullControl.All; Mail.Send; Exchange's full_access_as_app.
  '*.ReadWrite',
  '*.ReadWrite.*',
  '*.FullControl.*',
  'Mail.Send',
  'full_access_as_app',
  // Auth0 Management API: every create:, update: and delete: scope, and the reads that export
  // users, their IdP tokens or client secrets and keys.
  'create:*',
  'update:*',
  'delete:*',
  'read:users',
  'read:user_idp_tokens',
  'read:client_keys',
  'read:client_credentials',
  // The Auth0 Management API itself as an audience.
  'https://*.auth0.com/api/v2/',
  // Generic names.
  'admin',
  '*:admin',
  '*.admin',
  'admin:*',
  '*export*',
];

export const newScopeConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // A client's first week shows its usual scopes; it is judged only after.
  learning_days: z.number().min(0).default(7),
  sensitive_scopes: z.array(z.string().min(1).max(256)).max(500).default(DEFAULT_SENSITIVE_SCOPES),
});

export const newUserAgentConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  learning_days: z.number().min(0).default(7),
});

export const concurrentNetworksConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // A leaked token or secret used from several places at once shows within minutes; read as
  // ceil(w / 5) + 1 five-minute slots (docs/detectors.md).
  concurrent_window_minutes: z.number().int().min(1).max(240).default(10),
  // Distinct ASNs in one window beyond the most the client (or credential) ever showed: two,
  // so a client that adds one provider, or fails over once, does not page.
  margin: z.number().int().min(1).max(100).default(2),
  // A client (or credential) needs this much history before its windows are judged.
  learning_days: z.number().min(0).default(7),
});

export const newCredentialConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // A client needs this much history before a credential's first use: a client set up this
  // week still gets its keys in the order its owners deploy them.
  learning_days: z.number().min(0).default(7),
  // An old credential minting this close to the new one's first uses, from other networks only,
  // is parallel use (two holders of the client), not a rotation's overlap on the same hosts.
  parallel_window_minutes: z.number().int().min(1).max(1_440).default(60),
});

export const staleCredentialConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  // NIST SP 800-57 and most vendors' guidance rotate client secrets and keys within 90 days.
  max_credential_age_days: z.number().min(1).max(3_650).default(90),
});

const isoDate = z.iso.date('expected a date as YYYY-MM-DD').transform((value) => Date.parse(`${value}T00:00:00Z`));

/**
 * The findings an allowlist entry can silence. An entry names the ones it is for, so an entry
 * written for one finding (a partner's new country) never hides another (that partner's
 * credential waking after months).
 */
export const ALLOWLISTED_FINDINGS = ['secret_new_location', 'dormant_client', 'new_scope', 'new_user_agent', 'concurrent_networks', 'new_credential', 'stale_credential'] as const;

/** One allowlist entry: traffic matching every given field raises none of the entry's findings. */
export const allowlistEntrySchema = z
  .strictObject({
    // secret_new_location by default: entries written before other findings existed meant it.
    findings: z.array(z.enum(ALLOWLISTED_FINDINGS)).min(1).default(['secret_new_location']),
    tenant: z.string().min(1).optional(),
    client_id: z.string().min(1).optional(),
    asn: z.number().int().nonnegative().optional(),
    cidr: z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR such as 203.0.113.0/24').optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 alpha-2 country code').optional(),
    // Required: an allowlist entry nobody revisits is how a leak goes unnoticed for years.
    expires: isoDate,
    reason: z.string().min(1, 'say why the entry exists'),
  })
  .refine((entry) => entry.client_id ?? entry.asn ?? entry.cidr ?? entry.country, 'an entry needs client_id, asn, cidr or country');

const detectorSections = {
  jti_replay: jtiReplayConfigSchema.prefault({}),
  mint_volume: mintVolumeConfigSchema.prefault({}),
  secret_new_location: secretNewLocationConfigSchema.prefault({}),
  dormant_client: dormantClientConfigSchema.prefault({}),
  new_scope: newScopeConfigSchema.prefault({}),
  new_user_agent: newUserAgentConfigSchema.prefault({}),
  concurrent_networks: concurrentNetworksConfigSchema.prefault({}),
  new_credential: newCredentialConfigSchema.prefault({}),
  stale_credential: staleCredentialConfigSchema.prefault({}),
};

/**
 * An override section: the keys an entry writes, validated like the global section's, and
 * nothing else. Defaults must not fill in here: a key the entry leaves out keeps the global
 * value from the same file, not the built-in default.
 */
function givenKeysOf<T extends z.ZodObject>(schema: T) {
  const partial = schema.partial();
  return z.unknown().transform((raw, context): Partial<z.output<T>> => {
    const result = partial.safeParse(raw);
    if (result.success) return keepGiven(result.data, raw) as Partial<z.output<T>>;
    for (const issue of result.error.issues) {
      const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
      context.addIssue({ code: 'custom', message: unknownKey.length > 0 ? 'unknown key' : issue.message, path: [...issue.path, ...unknownKey] });
    }
    return z.NEVER;
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The parsed value restricted, at every depth, to the object keys present in the raw input. */
function keepGiven(parsed: unknown, raw: unknown): unknown {
  if (!isPlainObject(parsed) || !isPlainObject(raw)) return parsed;
  return Object.fromEntries(Object.keys(raw).filter((key) => key in parsed).map((key) => [key, keepGiven(parsed[key], raw[key])]));
}

/** Per-client settings: any detector key, replacing the global value for that client. */
export const clientOverrideSchema = z.strictObject({
  tenant: z.string().min(1).optional(),
  client_id: z.string().min(1),
  jti_replay: givenKeysOf(jtiReplayConfigSchema).optional(),
  // The baseline's shape (bucket, window, failure codes) is computed for all clients in one
  // query, so only thresholds and switches can differ per client.
  mint_volume: givenKeysOf(
    mintVolumeConfigSchema.omit({ bucket_minutes: true, failure_error_codes: true, baseline_days: true, hour_of_week_min_weeks: true, cold_start_hours: true }),
  ).optional(),
  secret_new_location: givenKeysOf(secretNewLocationConfigSchema).optional(),
  dormant_client: givenKeysOf(dormantClientConfigSchema).optional(),
  new_scope: givenKeysOf(newScopeConfigSchema).optional(),
  new_user_agent: givenKeysOf(newUserAgentConfigSchema).optional(),
  concurrent_networks: givenKeysOf(concurrentNetworksConfigSchema).optional(),
  new_credential: givenKeysOf(newCredentialConfigSchema).optional(),
  stale_credential: givenKeysOf(staleCredentialConfigSchema).optional(),
});

export const detectorsConfigSchema = z.strictObject({
  // node-cron expression (seconds field first), UTC. Every 5 s keeps alerts within seconds.
  schedule: z.string().min(1).default('*/5 * * * * *'),
  // Rows become visible a moment after their ingested_at; a tick stops this far behind now.
  safety_lag_seconds: z.number().nonnegative().max(300).default(3),
  // A catch-up after downtime is split into windows of at most this much ingested time.
  max_window_minutes: z.number().positive().default(60),
  // ... and of at most about this many arrived events (a back-fill arrives in minutes): each
  // detector query's engine memory grows with its window, and so does the tick's rollup refresh,
  // which uses the same windows (the default and its measurements: shared/src/storage/window-events.ts).
  max_window_events: z.number().int().min(1_000).max(10_000_000).default(DEFAULT_MAX_WINDOW_EVENTS),
  // A tick that is behind looks at the newest arrivals first, then examines at most this many
  // windows of its backlog, so alerts on fresh data wait one bounded tick, not the whole
  // catch-up (a tick behind starts again at once; docs/detectors.md). Its rollup refresh rolls
  // up at most this many windows too, so a tick after downtime examines what it rolled up
  // rather than rolling up the whole backlog first.
  catch_up_windows_per_tick: z.number().int().min(1).max(1_000).default(1),
  // ... and its fresh look examines at most this many of the newest arrivals (and never more
  // than a window): after a restart behind a back-fill the newest arrivals are its tail, and a
  // smaller look makes the first tick, and the next one's alert, come sooner.
  fresh_look_max_events: z.number().int().min(100).max(10_000_000).default(10_000),
  ...detectorSections,
  // Needs a complete inventory (TOKENWATCH_INVENTORY_REQUIRE or `require: true`); not per client:
  // a client in no inventory has no override either.
  unknown_client: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
  overrides: z.array(clientOverrideSchema).default([]),
  allowlist: z.array(allowlistEntrySchema).default([]),
});

export type DetectorsConfig = z.output<typeof detectorsConfigSchema>;
export type JtiReplayConfig = z.output<typeof jtiReplayConfigSchema>;
export type MintVolumeConfig = z.output<typeof mintVolumeConfigSchema>;
export type SecretNewLocationConfig = z.output<typeof secretNewLocationConfigSchema>;
export type DormantClientConfig = z.output<typeof dormantClientConfigSchema>;
export type NewScopeConfig = z.output<typeof newScopeConfigSchema>;
export type NewUserAgentConfig = z.output<typeof newUserAgentConfigSchema>;
export type ConcurrentNetworksConfig = z.output<typeof concurrentNetworksConfigSchema>;
export type NewCredentialConfig = z.output<typeof newCredentialConfigSchema>;
export type StaleCredentialConfig = z.output<typeof staleCredentialConfigSchema>;
export type AllowlistEntry = z.output<typeof allowlistEntrySchema>;

type DetectorSection = keyof typeof detectorSections;

/**
 * A detector's settings for one client: the global section with the client's override (the
 * first entry matching client_id, and tenant when the entry names one) laid over it, nested
 * sections (hygiene, levels) key by key.
 */
export function settingsFor<K extends DetectorSection>(config: DetectorsConfig, section: K, tenant: string, clientId: string): DetectorsConfig[K] {
  const override = config.overrides.find(
    (entry) => entry.client_id === clientId && (entry.tenant === undefined || entry.tenant === tenant),
  )?.[section];
  return override ? overlay(config[section], override) : config[section];
}

/** The section as every client sees it: global and each override (SQL pre-filters use the laxest). */
export function allSettingsOf<K extends DetectorSection>(config: DetectorsConfig, section: K): Array<DetectorsConfig[K]> {
  return [config[section], ...config.overrides.map((entry) => overlay(config[section], entry[section] ?? {}))];
}

function overlay<T>(base: T, override: object): T {
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    result[key] = isPlainObject(value) && isPlainObject(result[key]) ? overlay(result[key], value) : value;
  }
  return result as T;
}
