import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { FORMAT_NAMES } from '../events/source-formats.js';

/**
 * Every setting tokenwatch reads from the environment, validated once at start-up.
 * The README's table of environment variables is generated from settings-doc.ts, whose
 * type requires one entry per setting here; comments here say why a bound is what it is.
 */

/**
 * Defaults of the TOKENWATCH_SQL_* limits. Memory is the bound that holds RSS: chDB builds the
 * whole formatted result inside the query's memory, so the result cannot outgrow it. Its
 * default is a share of the engine's limit (engine-memory.ts, sqlMaxMemoryBytes), not a number
 * of its own: a fixed 512 MiB above the engine's 320 let the engine refuse an investigation
 * first, with a message naming the wrong setting.
 */
export const SQL_LIMIT_DEFAULTS = {
  maxRows: 1_000_000,
  maxBytes: 128 * 1024 * 1024,
  timeoutSeconds: 120,
} as const;

/**
 * Defaults of the TOKENWATCH_CLICKHOUSE_*_MB settings, chosen with `npm run bench:memory`
 * (docs/memory.md): 320 MiB bounds a detector tick over a large window without refusing the
 * inserts beside it (256 refused dozens, retried), where chDB's own default is 90% of the host.
 */
export const ENGINE_MEMORY_DEFAULTS = {
  limitMb: 320,
  markCacheMb: 32,
  mergeThreads: 2,
} as const;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port'))
      .min(1, 'expected at least one host:port'),
  );

/** Every on/off setting reads the same words, so no setting has a spelling of its own. */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes' || value === 'on');

const optionalString = z.string().optional();

export const settingsSchema = z.object({
  TOKENWATCH_DATA_DIR: z.string().min(1).default('.tokenwatch'),
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a database name').default('default'),
  // Per-component server users for `tokenwatch start` (infra/clickhouse/ creates least-privilege
  // ones); each unset user or password falls back to CLICKHOUSE_USER / CLICKHOUSE_PASSWORD.
  CLICKHOUSE_INGEST_USER: optionalString,
  CLICKHOUSE_INGEST_PASSWORD: optionalString,
  CLICKHOUSE_DETECTOR_USER: optionalString,
  CLICKHOUSE_DETECTOR_PASSWORD: optionalString,
  CLICKHOUSE_NOTIFIER_USER: optionalString,
  CLICKHOUSE_NOTIFIER_PASSWORD: optionalString,
  // A ClickHouse cluster (its name in the servers' remote_servers): migrations run ON CLUSTER
  // with Replicated tables behind Distributed ones (shared/src/storage/cluster-ddl.ts). The
  // name is written into DDL, so it is held to ClickHouse's plain identifiers.
  TOKENWATCH_CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a cluster name of letters, digits and _').optional(),

  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).default('tokenwatch'),
  KAFKA_SSL: booleanFlag.default(false),
  KAFKA_SSL_CA_FILE: optionalString,
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalString,
  KAFKA_SASL_PASSWORD: optionalString,

  // How long the broker waits for a silent (crashed) worker before giving its partitions to
  // another; lower means faster recovery after kill -9, higher tolerates longer pauses.
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  // The longest pause between two of kafkajs's retries of one request (they start at 200 ms and
  // double, 8 retries). With the broker down, a send fails only after two nested rounds of them
  // (68 s with 10,000, measured), and only then does the caller's own retry log it; a returned
  // broker is noticed within one pause. Lower notices both sooner, higher spares a struggling broker.
  KAFKA_RETRY_MAX_MS: z.coerce.number().int().min(500).max(60_000).default(10_000),
  // Most of one fetch of the ingest consumer: held in memory until stored. Lower saves memory,
  // higher saves round trips; 1 MiB still fills a 2,000-event batch in one fetch.
  KAFKA_FETCH_MAX_MB: z.coerce.number().int().min(1, 'at least 1 (MiB)').max(256, 'at most 256 (MiB)').default(4),

  TOKENWATCH_TOPIC: z.string().min(1).default('idp.token-requests'),
  TOKENWATCH_DLQ_TOPIC: z.string().min(1).default('idp.token-requests.dlq'),
  // `auto` recognises each record's format; a name forces one for the whole topic.
  TOKENWATCH_FORMAT: z.enum(['auto', ...FORMAT_NAMES]).default('auto'),
  TOKENWATCH_CONSUMER_GROUP: z.string().min(1).default('tokenwatch-ingest'),
  TOKENWATCH_TOPIC_PARTITIONS: positiveInt(4),
  // Several `tokenwatch start` replicas: `on` runs the detectors and the notifier only in the
  // replica that holds the one partition of the coordination topic (a Kafka consumer group).
  TOKENWATCH_LEADER_ELECTION: booleanFlag.default(false),
  // Unset: `<TOKENWATCH_TOPIC>.leader`. The election's consumer group has the topic's name.
  TOKENWATCH_LEADER_TOPIC: optionalString,
  // The hand-over time after a leader dies; the broker refuses less than its
  // group.min.session.timeout.ms (6 s by default).
  TOKENWATCH_LEADER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(10_000),
  TOKENWATCH_BATCH_MAX_EVENTS: positiveInt(10_000),
  TOKENWATCH_BATCH_MAX_WAIT_MS: positiveInt(1_000),
  TOKENWATCH_DLQ_MAX_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  TOKENWATCH_DLQ_MIN_MESSAGES: positiveInt(1_000),
  // Capped: the TTL is a DateTime, which ends in 2106; a wrapped TTL would delete everything.
  TOKENWATCH_RETENTION_DAYS: z.coerce.number().int().positive().max(7_300, 'at most 7300 days (20 years)').default(90),
  TOKENWATCH_QUERY_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  // Bounds of every read-only query (`tokenwatch sql`, `tokenwatch alerts`) on the embedded
  // engine, set by the process that runs it (`tokenwatch start` when it serves the query).
  TOKENWATCH_SQL_MAX_ROWS: positiveInt(SQL_LIMIT_DEFAULTS.maxRows),
  TOKENWATCH_SQL_MAX_BYTES: positiveInt(SQL_LIMIT_DEFAULTS.maxBytes),
  // Bytes; unset, half the embedded engine's limit. Never above that limit (checkSqlMaxMemory).
  TOKENWATCH_SQL_MAX_MEMORY: z.coerce.number().int().positive().optional(),
  TOKENWATCH_SQL_TIMEOUT_SECONDS: positiveInt(SQL_LIMIT_DEFAULTS.timeoutSeconds),

  // What the embedded engine may hold (shared/src/storage/engine-memory.ts, docs/memory.md);
  // ignored with CLICKHOUSE_URL, where the server's own configuration decides. Below 128 MiB
  // the engine cannot run the migrations; the caches need at least 1 MiB to hold anything.
  TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: z.coerce.number().int().min(128, 'at least 128 (MiB)').max(1_048_576, 'at most 1048576 (MiB, 1 TiB)').default(ENGINE_MEMORY_DEFAULTS.limitMb),
  TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: z.coerce.number().int().min(1, 'at least 1 (MiB)').max(65_536, 'at most 65536 (MiB)').default(ENGINE_MEMORY_DEFAULTS.markCacheMb),
  // Threads merging parts in the background (the engine's background_pool_size); each merge
  // holds its own buffers, so fewer threads hold less memory at once.
  TOKENWATCH_CLICKHOUSE_MERGE_THREADS: z.coerce.number().int().min(1, 'at least 1').max(64, 'at most 64').default(ENGINE_MEMORY_DEFAULTS.mergeThreads),

  // Offline IP databases; unset uses the files of the packaged npm databases.
  TOKENWATCH_GEOIP_COUNTRY_DB: optionalString,
  // One MaxMind-format ASN .mmdb, or comma-separated IP-range CSV files (ip-location-db format).
  TOKENWATCH_GEOIP_ASN_DB: optionalString,

  // Detector thresholds, allowlists and alert routing (YAML or JSON); unset uses the defaults.
  TOKENWATCH_CONFIG: optionalString,

  // The client inventory (CSV or YAML, docs/inventory.md): owners, Slack channels, criticality.
  TOKENWATCH_INVENTORY: optionalString,
  // The inventory lists every client: one that mints tokens without an entry is unknown_client.
  TOKENWATCH_INVENTORY_REQUIRE: booleanFlag.default(false),

  // Alert delivery. Without a Slack token alerts print on the terminal (and go to the file
  // and webhook below when set).
  SLACK_BOT_TOKEN: optionalString,
  SLACK_BOT_TOKEN_FILE: optionalString,
  SLACK_CHANNEL: optionalString,
  SLACK_API_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }).optional(),
  TOKENWATCH_ALERTS_FILE: optionalString,
  TOKENWATCH_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }).optional(),

  // /healthz, /readyz and /metrics; 0 picks a free port, `off` disables the endpoint.
  TOKENWATCH_HTTP_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65_535)]).default(9464),
  // Loopback by default; a container sets 0.0.0.0 so its health checks and Prometheus reach it.
  TOKENWATCH_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  // The on-call console at / of that server (services/console); `tokenwatch console` prints a link.
  TOKENWATCH_CONSOLE: booleanFlag.default(true),
  // Signs console login links; unset, a random key in TOKENWATCH_DATA_DIR/console.key. Replicas
  // behind one address set the same key. 32 characters at least: it is an HMAC key.
  TOKENWATCH_CONSOLE_KEY: z.string().min(32, 'at least 32 characters').optional(),
  // Console sign-in through the team's IdP (OpenID Connect, docs/console.md). The issuer is
  // https, or http on a loopback address only (a development IdP): over plain http on a network
  // the code and the ID token could be read and replayed.
  TOKENWATCH_CONSOLE_OIDC_ISSUER: z
    .url({ protocol: /^https?$/, error: 'expected an http(s):// URL (the IdP\'s issuer, e.g. https://login.example.com/realms/acme)' })
    .refine((value) => new URL(value).protocol === 'https:' || isLoopbackHost(new URL(value).hostname), 'expected https:// (http is accepted only for a loopback address: 127.0.0.1, ::1 or localhost)')
    .optional(),
  TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: z.string().min(1).max(256).optional(),
  // Unset: a public client (PKCE only). Set: client_secret_basic. Never logged.
  TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET: z.string().min(1).max(1024).optional(),
  // Unset: http://<TOKENWATCH_HTTP_HOST>:<port>/api/oidc/callback; set it behind a proxy.
  TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s):// URL whose path is /api/oidc/callback' })
    // The console lives at / of its address (its pages and cookies use absolute paths), so a proxy maps the host, not a prefix.
    .refine((value) => new URL(value).pathname === '/api/oidc/callback' && new URL(value).search === '', 'expected a URL whose path is /api/oidc/callback (the console\'s callback), without a query')
    .optional(),
  // Who may sign in through the IdP: these user names, and/or the members of this group. One of
  // the two is required: without it every account of the IdP (every employee, every guest)
  // could acknowledge and suppress alerts.
  TOKENWATCH_CONSOLE_OIDC_USERS: z
    .string()
    .transform((value) => value.split(',').map((user) => user.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'expected comma-separated user names (letters, digits, . _ @ -)')).min(1).max(1_000))
    .optional(),
  TOKENWATCH_CONSOLE_OIDC_GROUP: z.string().min(1).max(256).optional(),
  // The ID token's claim listing the user's groups or roles: Keycloak and Okta `groups` (with a
  // mapper or a groups claim set up), Entra `roles` (app roles) or `groups` (object ids).
  TOKENWATCH_CONSOLE_OIDC_GROUP_CLAIM: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'expected a claim name, e.g. groups or roles').default('groups'),

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Settings whose values must never be echoed back, even inside an error message. */
const SECRET_SETTINGS = new Set(['CLICKHOUSE_PASSWORD', 'CLICKHOUSE_INGEST_PASSWORD', 'CLICKHOUSE_DETECTOR_PASSWORD', 'CLICKHOUSE_NOTIFIER_PASSWORD', 'KAFKA_SASL_PASSWORD', 'SLACK_BOT_TOKEN', 'TOKENWATCH_WEBHOOK_URL', 'TOKENWATCH_CONSOLE_KEY', 'TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET']);

/**
 * Reads and validates the environment. On a bad value it throws a ConfigError whose
 * message is one line naming the variable, so start-up fails readably instead of with
 * a stack trace from deep inside a client library.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // An empty variable means "not set" (as in `FOO= tokenwatch ...` or compose's `${FOO:-}`).
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = settingsSchema.safeParse(given);
  if (result.success) {
    const settings = result.data;
    if (settings.KAFKA_SASL_MECHANISM && !(settings.KAFKA_SASL_USERNAME && settings.KAFKA_SASL_PASSWORD)) {
      throw new ConfigError('invalid setting KAFKA_SASL_MECHANISM: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with it');
    }
    if (settings.TOKENWATCH_CLICKHOUSE_CLUSTER && !settings.CLICKHOUSE_URL) {
      throw new ConfigError('invalid setting TOKENWATCH_CLICKHOUSE_CLUSTER: a cluster needs ClickHouse servers, set CLICKHOUSE_URL (the embedded engine is one node)');
    }
    checkConsoleOidc(settings);
    checkSqlMaxMemory(settings);
    return settings;
  }
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'environment');
  // Echo the value to help, minus credentials: a URL may carry user:password@.
  const value = String(env[name] ?? '').replace(/\/\/[^/@\s]*@/, '//***@');
  const shown = SECRET_SETTINGS.has(name) ? '' : ` (got ${JSON.stringify(value)})`;
  throw new ConfigError(`invalid setting ${name}: ${issue?.message ?? 'invalid value'}${shown}`);
}

/**
 * An investigation's memory cap above the embedded engine's limit over everything it runs
 * could never be reached: the engine would refuse the query first, and its message would point
 * at the wrong setting. With CLICKHOUSE_URL the server's own configuration bounds both.
 */
function checkSqlMaxMemory(settings: Settings): void {
  const perQuery = settings.TOKENWATCH_SQL_MAX_MEMORY;
  const engineBytes = settings.TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB * 1024 * 1024;
  if (settings.CLICKHOUSE_URL || perQuery === undefined || perQuery <= engineBytes) return;
  throw new ConfigError(
    `invalid setting TOKENWATCH_SQL_MAX_MEMORY: at most the embedded engine's limit, TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB=${settings.TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB} (${engineBytes} bytes); raise that one too, or leave TOKENWATCH_SQL_MAX_MEMORY unset for half of it (got "${perQuery}")`,
  );
}

/** The OIDC settings that mean nothing alone, and the one choice that must not be a default (who may sign in). */
function checkConsoleOidc(settings: Settings): void {
  const dependents = ['TOKENWATCH_CONSOLE_OIDC_CLIENT_ID', 'TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET', 'TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL', 'TOKENWATCH_CONSOLE_OIDC_USERS', 'TOKENWATCH_CONSOLE_OIDC_GROUP'] as const;
  if (!settings.TOKENWATCH_CONSOLE_OIDC_ISSUER) {
    const orphan = dependents.find((name) => settings[name] !== undefined);
    if (orphan) throw new ConfigError(`invalid setting ${orphan}: it needs TOKENWATCH_CONSOLE_OIDC_ISSUER (the IdP to sign in with)`);
    return;
  }
  if (!settings.TOKENWATCH_CONSOLE_OIDC_CLIENT_ID) throw new ConfigError('invalid setting TOKENWATCH_CONSOLE_OIDC_ISSUER: it needs TOKENWATCH_CONSOLE_OIDC_CLIENT_ID (the console\'s client at the IdP)');
  if (!settings.TOKENWATCH_CONSOLE_OIDC_USERS && !settings.TOKENWATCH_CONSOLE_OIDC_GROUP) {
    throw new ConfigError(
      'invalid setting TOKENWATCH_CONSOLE_OIDC_ISSUER: it needs TOKENWATCH_CONSOLE_OIDC_USERS or TOKENWATCH_CONSOLE_OIDC_GROUP (who may sign in); without one, every account of the IdP could acknowledge and suppress alerts',
    );
  }
  const host = settings.TOKENWATCH_HTTP_HOST;
  if (!settings.TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL && (host === '0.0.0.0' || host === '::')) {
    throw new ConfigError(`invalid setting TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: required when TOKENWATCH_HTTP_HOST is ${host} (the browser's address of the console cannot be guessed from it)`);
  }
}

/** 127.0.0.0/8, ::1 and localhost: addresses that never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
