import type { Settings } from './settings.js';

/**
 * The README's table of environment variables, one entry per setting. The type makes the
 * list complete: a setting added to settingsSchema without a line here does not compile.
 * scripts/generate-settings-doc.mjs writes the table into the README between its markers,
 * and a unit test fails while the committed README differs.
 */
interface SettingDoc {
  /** The default as a reader should see it (a value, or what happens when unset). */
  readonly shownDefault: string;
  /** One line of Markdown. */
  readonly meaning: string;
}

export const SETTING_DOCS: { readonly [K in keyof Settings]-?: SettingDoc } = {
  TOKENWATCH_DATA_DIR: { shownDefault: '`.tokenwatch`', meaning: 'embedded ClickHouse data (chDB) and the query-server file' },
  CLICKHOUSE_URL: { shownDefault: '(unset: embedded)', meaning: '`http(s)://host:8123` of a ClickHouse server; switches off the embedded engine' },
  CLICKHOUSE_USER: { shownDefault: '`default`', meaning: 'server user' },
  CLICKHOUSE_PASSWORD: { shownDefault: '(empty)', meaning: 'server password (never printed)' },
  CLICKHOUSE_DATABASE: { shownDefault: '`default`', meaning: 'server database' },
  CLICKHOUSE_INGEST_USER: { shownDefault: '`CLICKHOUSE_USER`', meaning: 'server user of `tokenwatch start`\'s ingest worker ([least-privilege users](#clickhouse-server-least-privilege-users))' },
  CLICKHOUSE_INGEST_PASSWORD: { shownDefault: '`CLICKHOUSE_PASSWORD`', meaning: 'its password (never printed)' },
  CLICKHOUSE_DETECTOR_USER: { shownDefault: '`CLICKHOUSE_USER`', meaning: 'server user of `tokenwatch start`\'s detectors' },
  CLICKHOUSE_DETECTOR_PASSWORD: { shownDefault: '`CLICKHOUSE_PASSWORD`', meaning: 'its password (never printed)' },
  CLICKHOUSE_NOTIFIER_USER: { shownDefault: '`CLICKHOUSE_USER`', meaning: 'server user of `tokenwatch start`\'s notifier' },
  CLICKHOUSE_NOTIFIER_PASSWORD: { shownDefault: '`CLICKHOUSE_PASSWORD`', meaning: 'its password (never printed)' },
  TOKENWATCH_CLICKHOUSE_CLUSTER: { shownDefault: 'unset (one server)', meaning: 'ClickHouse cluster name (needs `CLICKHOUSE_URL`): migrations run `ON CLUSTER` with Replicated tables behind Distributed ones sharded by client ([cluster mode](docs/scaling.md#clickhouse-cluster-mode)); review the DDL with `tokenwatch migrate --print`' },
  KAFKA_BROKERS: { shownDefault: '`127.0.0.1:9092`', meaning: 'comma-separated `host:port` list' },
  KAFKA_CLIENT_ID: { shownDefault: '`tokenwatch`', meaning: 'Kafka client id' },
  KAFKA_SSL: { shownDefault: '`false`', meaning: 'TLS to the brokers' },
  KAFKA_SSL_CA_FILE: { shownDefault: '(unset)', meaning: 'PEM file of the CA that signed the brokers\' certificates' },
  KAFKA_SASL_MECHANISM: { shownDefault: '(unset)', meaning: '`plain`, `scram-sha-256` or `scram-sha-512`' },
  KAFKA_SASL_USERNAME: { shownDefault: '(unset)', meaning: 'SASL user name' },
  KAFKA_SASL_PASSWORD: { shownDefault: '(unset)', meaning: 'SASL password (never printed)' },
  KAFKA_SESSION_TIMEOUT_MS: { shownDefault: '`30000`', meaning: 'how long before a crashed worker\'s partitions go to another' },
  KAFKA_RETRY_MAX_MS: { shownDefault: '`10000`', meaning: 'longest pause between two of kafkajs\'s retries of one request: lower notices a down or returned broker sooner' },
  KAFKA_FETCH_MAX_MB: { shownDefault: '`4`', meaning: 'most MiB of one fetch of the ingest consumer, held in memory until stored ([docs/memory.md](docs/memory.md))' },
  TOKENWATCH_TOPIC: { shownDefault: '`idp.token-requests`', meaning: 'input topic' },
  TOKENWATCH_DLQ_TOPIC: { shownDefault: '`idp.token-requests.dlq`', meaning: 'dead-letter topic' },
  TOKENWATCH_FORMAT: { shownDefault: '`auto`', meaning: 'log format of the topic: `auto` (detect per record) or one of the formats above' },
  TOKENWATCH_CONSUMER_GROUP: { shownDefault: '`tokenwatch-ingest`', meaning: 'consumer group of the ingest workers' },
  TOKENWATCH_TOPIC_PARTITIONS: { shownDefault: '`4`', meaning: 'partitions when tokenwatch creates a missing topic' },
  TOKENWATCH_LEADER_ELECTION: { shownDefault: '`off`', meaning: '`on` (or `true`, like every on/off setting): of several `tokenwatch start` replicas only the elected leader runs the detectors and the notifier ([replicas](docs/scaling.md#replicas))' },
  TOKENWATCH_LEADER_TOPIC: { shownDefault: '`<TOKENWATCH_TOPIC>.leader`', meaning: 'one-partition coordination topic of the election; its consumer group has the same name' },
  TOKENWATCH_LEADER_SESSION_TIMEOUT_MS: { shownDefault: '`10000`', meaning: 'a silent leader is replaced after this long; it stops its detectors and notifier before' },
  TOKENWATCH_BATCH_MAX_EVENTS: { shownDefault: '`10000`', meaning: 'a batch is inserted when it holds this many messages…' },
  TOKENWATCH_BATCH_MAX_WAIT_MS: { shownDefault: '`1000`', meaning: '…or when its oldest message waited this long' },
  TOKENWATCH_DLQ_MAX_RATIO: { shownDefault: '`0.5`', meaning: 'stop when more than this share of recent messages is invalid' },
  TOKENWATCH_DLQ_MIN_MESSAGES: { shownDefault: '`1000`', meaning: 'the window of recent messages for that ratio' },
  TOKENWATCH_RETENTION_DAYS: { shownDefault: '`90`', meaning: '`token_requests` TTL (at most 7300); a change is applied at the next start. Rows older than this are dropped at the next merge, including backfilled ones' },
  TOKENWATCH_QUERY_PORT: { shownDefault: '`0` (random)', meaning: 'loopback port of the read-only query server (embedded mode)' },
  TOKENWATCH_SQL_MAX_ROWS: { shownDefault: '`1000000`', meaning: 'most result rows of a `tokenwatch sql` / `alerts` query (embedded engine)' },
  TOKENWATCH_SQL_MAX_BYTES: { shownDefault: '`134217728` (128 MiB)', meaning: 'most result bytes of such a query' },
  TOKENWATCH_SQL_MAX_MEMORY: { shownDefault: 'half of `TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB` (160 MiB)', meaning: 'most engine memory (bytes) of such a query; bounds the serving process\'s memory. At most the engine\'s limit: start-up refuses more' },
  TOKENWATCH_SQL_TIMEOUT_SECONDS: { shownDefault: '`120`', meaning: 'longest such a query runs' },
  TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: { shownDefault: '`320`', meaning: 'most memory (MiB) the embedded engine holds for all its queries, inserts and merges together; past it an insert waits and retries ([docs/memory.md](docs/memory.md))' },
  TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB: { shownDefault: '`32`', meaning: 'embedded engine\'s mark cache (MiB): where in each column file a granule starts' },
  TOKENWATCH_CLICKHOUSE_MERGE_THREADS: { shownDefault: '`2`', meaning: 'threads the embedded engine merges parts with in the background (chDB\'s default 16); each running merge holds memory ([docs/memory.md](docs/memory.md))' },
  TOKENWATCH_GEOIP_COUNTRY_DB: { shownDefault: '(packaged)', meaning: 'country database, MaxMind `.mmdb` format' },
  TOKENWATCH_GEOIP_ASN_DB: { shownDefault: '(packaged)', meaning: 'ASN database: one GeoLite2-ASN-style `.mmdb`, or comma-separated ip-location-db range CSVs' },
  TOKENWATCH_HTTP_PORT: { shownDefault: '`9464`', meaning: '`/healthz`, `/readyz`, `/metrics` of `start` and `demo`; `0` picks a free port, `off` disables them' },
  TOKENWATCH_HTTP_HOST: { shownDefault: '`127.0.0.1`', meaning: 'address they listen on (`0.0.0.0` in a container)' },
  TOKENWATCH_CONSOLE: { shownDefault: '`true`', meaning: 'serve the on-call console at `/` of that server (docs/console.md); `tokenwatch console` prints a sign-in link' },
  TOKENWATCH_CONSOLE_KEY: { shownDefault: '(unset: a key file in the data directory)', meaning: 'signs console sign-in links (never logged; 32+ characters); replicas behind one address share it' },
  TOKENWATCH_CONSOLE_OIDC_ISSUER: { shownDefault: '(unset: sign-in links only)', meaning: "the team's IdP for console sign-in (OpenID Connect, docs/console.md): its issuer URL, https (http only on loopback)" },
  TOKENWATCH_CONSOLE_OIDC_CLIENT_ID: { shownDefault: '(required with the issuer)', meaning: "the console's client id at the IdP (authorization code flow with PKCE)" },
  TOKENWATCH_CONSOLE_OIDC_CLIENT_SECRET: { shownDefault: '(unset: a public client, PKCE only)', meaning: "that client's secret, sent as client_secret_basic (never logged)" },
  TOKENWATCH_CONSOLE_OIDC_REDIRECT_URL: { shownDefault: '`http://<TOKENWATCH_HTTP_HOST>:<port>/api/oidc/callback`', meaning: 'where the IdP sends the browser back, as registered at the IdP; set it behind a proxy (required when the host is 0.0.0.0)' },
  TOKENWATCH_CONSOLE_OIDC_USERS: { shownDefault: '(unset)', meaning: 'comma-separated user names that may sign in through the IdP; this or the group is required' },
  TOKENWATCH_CONSOLE_OIDC_GROUP: { shownDefault: '(unset)', meaning: "a group or role the ID token's group claim must contain to sign in; this or the user list is required" },
  TOKENWATCH_CONSOLE_OIDC_GROUP_CLAIM: { shownDefault: '`groups`', meaning: 'the ID token claim holding the groups or roles (Entra app roles: `roles`)' },
  TOKENWATCH_CONFIG: { shownDefault: '(unset: defaults)', meaning: 'YAML or JSON file: detector thresholds, overrides, allowlists, alert routing ([docs/detectors.md](docs/detectors.md), [docs/notifier.md](docs/notifier.md))' },
  TOKENWATCH_INVENTORY: { shownDefault: '(unset: none)', meaning: 'client inventory, CSV (`tenant,client_id,name,owner,team,slack_channel,criticality,tags`) or YAML: owners and teams on alerts, per-client Slack channels, criticality ([docs/inventory.md](docs/inventory.md)); reloaded when it changes' },
  TOKENWATCH_INVENTORY_REQUIRE: { shownDefault: '`false`', meaning: '`true`: the inventory lists every client, so one minting tokens without an entry raises `unknown_client` (or say `require: true` in a YAML inventory)' },
  SLACK_BOT_TOKEN: { shownDefault: '(unset: terminal)', meaning: 'Slack bot token (never logged); without one, alerts print on the terminal' },
  SLACK_BOT_TOKEN_FILE: { shownDefault: '(unset)', meaning: 'a file holding the bot token, instead of `SLACK_BOT_TOKEN`' },
  SLACK_CHANNEL: { shownDefault: '(unset)', meaning: 'default channel (an id such as `C0123…` is best: history search and updates need ids)' },
  SLACK_API_URL: { shownDefault: 'Slack\'s', meaning: 'Web API base URL (the tests point it at a stub)' },
  TOKENWATCH_ALERTS_FILE: { shownDefault: '(unset)', meaning: 'also append each alert version as JSON lines here' },
  TOKENWATCH_WEBHOOK_URL: { shownDefault: '(unset)', meaning: 'also POST each alert version here (credentials in the URL become Basic auth; never logged)' },
  LOG_LEVEL: { shownDefault: '`info`', meaning: '`trace` … `fatal`, or `silent`; logs are JSON lines on stderr' },
};

export const SETTINGS_TABLE_BEGIN = '<!-- settings:begin (generated from shared/src/config/settings-doc.ts by scripts/generate-settings-doc.mjs; do not edit) -->';
export const SETTINGS_TABLE_END = '<!-- settings:end -->';

/** The Markdown table, in the order of SETTING_DOCS. */
export function settingsMarkdownTable(): string {
  const rows = Object.entries(SETTING_DOCS).map(([name, doc]) => `| \`${name}\` | ${doc.shownDefault} | ${doc.meaning} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README with its settings table replaced by the generated one. */
export function withSettingsTable(readme: string): string {
  const begin = readme.indexOf(SETTINGS_TABLE_BEGIN);
  const end = readme.indexOf(SETTINGS_TABLE_END);
  if (begin < 0 || end < begin) throw new Error('README.md has no settings table markers');
  return `${readme.slice(0, begin + SETTINGS_TABLE_BEGIN.length)}\n${settingsMarkdownTable()}\n${readme.slice(end)}`;
}
