import { Command, Option } from 'commander';
import { FORMAT_NAMES } from '@tokenwatch/shared/events/source-formats';
import type { FormatChoice } from '@tokenwatch/ingest/decode';
import { DEFAULT_KEYCLOAK_LOG, DEFAULT_KEYCLOAK_URL } from '@tokenwatch/demo/keycloak/client';
import { DETECTOR_NAMES } from '@tokenwatch/detector/registry';
import type { TriageVerb } from './commands/triage.js';
import { runCommand } from './run.js';

// Each action imports its command's module when it runs: loading every command (the whole
// service, the demo, the tap) made each CLI call spend seconds before doing anything, while a
// call such as `tokenwatch sql` needs a fraction of it.

const program = new Command('tokenwatch')
  .description('Watches OAuth token requests of machine identities and alerts when one looks stolen.')
  .showHelpAfterError();

program
  .command('start')
  .description('ingest, detectors and notifier in one process, with /healthz, /readyz and /metrics (always-on)')
  .action(() => runCommand(async (context) => (await import('./commands/start.js')).startCommand(context)));

program
  .command('demo')
  .description('`start` plus a local Kafka broker (unless KAFKA_BROKERS is set) and simulated IdP traffic (or real requests against Keycloak, --idp keycloak) with an attack every few minutes')
  .option('--rate <events/s>', 'mean events per second (default: the population\'s own rate, about 1/s per 300 clients)')
  .option('--clients <count>', 'machine clients', '300')
  .option('--history-days <days>', 'days of history back-filled on the first run (baselines; secret_new_location learns 7 days)', '8')
  .option('--attack-every <minutes>', 'minutes between attacks, each kind in turn; 0 for none', '3')
  .option('--seed <seed>', 'PRNG seed of the population (keep it across runs: baselines are per client)', '1')
  .option('--idp <simulated|keycloak>', 'simulated: the simulator\'s IdP logs; keycloak: real token requests against a running Keycloak (`npm run keycloak:start`) and its log (--rate: requests/s, default 1)', 'simulated')
  .option('--keycloak-url <url>', 'Keycloak with the demo realm (infra/keycloak/realm-demo.json)', DEFAULT_KEYCLOAK_URL)
  .option('--keycloak-log <file>', 'Keycloak\'s JSON console log, shipped to Kafka as it grows', DEFAULT_KEYCLOAK_LOG)
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/demo.js')).demoCommand(context, options)));

program
  .command('migrate')
  .description('apply pending schema migrations and TOKENWATCH_RETENTION_DAYS, then exit (on a server: as a user that may change the schema)')
  .option('--print', 'print the statements instead of running them (with TOKENWATCH_CLICKHOUSE_CLUSTER: the cluster DDL); connects to nothing')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/migrate.js')).migrateCommand(context, options)));

program
  .command('ingest')
  .description('consume token-request logs from Kafka into ClickHouse (always-on)')
  .action(() => runCommand(async (context) => (await import('./commands/ingest.js')).ingestCommand(context)));

program
  .command('import')
  .description('validate and store JSON lines from a file (or - for stdin); rejects go to <file>.rejects.jsonl')
  .argument('<file>', 'JSON-lines file, or - for stdin')
  .addOption(new Option('--format <format>', 'the log format of every line (default: TOKENWATCH_FORMAT, auto-detect)').choices(['auto', ...FORMAT_NAMES]))
  .action((file: string, options: { format?: FormatChoice }) =>
    runCommand(async (context) => void (await (await import('./commands/import.js')).importCommand(context, file, options.format ?? context.settings.TOKENWATCH_FORMAT))),
  );

program
  .command('produce')
  .description('publish JSON lines from a file (or - for stdin) to the token-request topic; --follow keeps publishing what is appended, like tail -F')
  .argument('<file>', 'JSON-lines file, or - for stdin')
  .option('--topic <topic>', 'topic to publish to (default: TOKENWATCH_TOPIC)')
  .option('--follow', 'follow the file by name like tail -F (rotation, truncation), until SIGINT/SIGTERM; resumes at the saved position')
  .option('--state <path>', 'with --follow: where the position is saved (default: <file>.tokenwatch-position.json)')
  .option('--from-end', 'with --follow, first run only: start at the end of the file instead of its beginning')
  .option('--poll-interval <ms>', 'with --follow: longest wait between two looks at the file (file-system events wake it sooner)', '1000')
  .option('--ops-listen <host:port|off>', 'with --follow: where to serve /healthz and /metrics', 'off')
  .action((file: string, options: unknown) => runCommand(async (context) => (await import('./commands/produce.js')).produceCommand(context, file, options)));

program
  .command('sql')
  .description('run read-only SQL; a table on a terminal, JSONEachRow when piped')
  .argument('<query>', 'the SQL query')
  .option('--format <format>', 'any ClickHouse output format, e.g. CSVWithNames')
  .option('--param <name=value>', 'value of the query parameter {name:Type} (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .action((query: string, options: unknown) => runCommand(async (context) => (await import('./commands/sql.js')).sqlCommand(context, query, options)));

program
  .command('tap')
  .description('reverse proxy for an OAuth token endpoint: forwards every request unchanged, publishes each token request to the topic')
  .requiredOption('--upstream <url>', 'the upstream token endpoint, e.g. https://idp.example.com/oauth2/token')
  .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8089')
  .option('--trusted-proxy <cidr>', 'a proxy whose X-Forwarded-For is believed (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--tenant <tenant>', 'tenant of the events (default: the upstream origin)')
  .option('--ops-listen <host:port|off>', 'where to serve /healthz, /readyz and /metrics', '127.0.0.1:9465')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/tap.js')).tapCommand(context, options)));

program
  .command('notify')
  .description('deliver alerts to Slack (or the terminal, a JSON-lines file, a webhook), each once (always-on)')
  .option('--once', 'deliver what is pending, then exit')
  .action((options: { once?: boolean }) => runCommand(async (context) => (await import('./commands/notify.js')).notifyCommand(context, options)));

program
  .command('detect')
  .description('run the detectors on their schedule (always-on); --once for one run, --once --from <time> to backtest history')
  .option('--once', 'run once and exit')
  .option('--from <time>', 'backtest from this time (RFC 3339, a date, or an age such as 7d)')
  .option('--to <time>', 'backtest up to this time (default: now)')
  .option('--detector <name>', `only this detector: ${DETECTOR_NAMES.join(', ')}`)
  .option('--store', 'store the alerts a backtest finds (default: print only)')
  .option('--json', 'print alerts as JSON lines')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/detect.js')).detectCommand(context, options)));

const alerts = program
  .command('alerts')
  .description('list alerts that changed since a time (default: the last 24 hours), oldest first; or triage one (ack, resolve, suppress, verdict)')
  .option('--since <time>', 'RFC 3339 time, date, or an age such as 24h or 7d', '24h')
  .option('--limit <n>', 'at most this many', '1000')
  .option('--json', 'JSON lines instead of text')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/alerts.js')).alertsCommand(context, options)));

program
  .command('console')
  .description('print a one-time sign-in link to the on-call console of the running `tokenwatch start` (valid 5 minutes)')
  .option('--user <name>', 'who signs in (default: your operating-system user)')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/console.js')).consoleCommand(context, options)));
const triageVerbs: [TriageVerb, string][] = [
  ['ack', 'acknowledge a firing alert: no more pages for it, it still updates and still resolves when quiet'],
  ['resolve', 'resolve an alert now; newer evidence fires it again'],
  ['suppress', 'resolve an alert and stop its finding for the client (--only-this-key: for this key) until --for has passed'],
  ['verdict', 'record what the alert was (true_positive, benign, needs_tuning): tokenwatch report counts them'],
];
for (const [verb, description] of triageVerbs) {
  const command = alerts
    .command(verb)
    .description(description)
    .argument('<alert_id>', 'the alert (alert_id in tokenwatch alerts --json, the fingerprint in Slack)')
    .option('--user <name>', 'who acts (default: the operating-system user@host)')
    .option('--note <text>', 'why, for the audit and the Slack message (up to 2000 characters)');
  if (verb === 'verdict') command.requiredOption('--verdict <verdict>', 'true_positive, benign or needs_tuning');
  else command.option('--verdict <verdict>', 'also record a verdict: true_positive, benign or needs_tuning');
  if (verb === 'suppress') {
    command
      .option('--for <duration>', 'how long: 30s, 15m, 4h, 7d, 2w (at most 90d)', '7d')
      .option('--only-this-key', "only this alert's key of the finding (a jti, a location), not every key of the client");
  }
  command.action((id: string, options: object) => runCommand(async (context) => (await import('./commands/triage.js')).alertsTriageCommand(context, verb, id, options)));
}

program
  .command('report')
  .description('precision per finding from on-call\'s verdicts, with the count of each verdict and of alerts without one')
  .option('--since <time>', 'alerts raised since this time (RFC 3339, a date, or an age such as 30d)', '90d')
  .option('--json', 'JSON lines instead of a table')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/report.js')).reportCommand(context, options)));

const watch = program
  .command('watch')
  .description('the watch list: clients or credentials known to be compromised; each of their requests is a critical watched_credential alert');

watch
  .command('add')
  .description('watch a client (or one of its credentials); prints the watch id')
  .requiredOption('--tenant <tenant>', 'the tenant of the client')
  .requiredOption('--client <id>', 'the client id')
  .option('--credential <id>', 'only this credential of the client (default: all)')
  .option('--since <time>', 'alert on requests from this time (RFC 3339, a date, or an age such as 7d; default: now); a past time also searches what is stored')
  .option('--until <time>', 'stop watching at this time (default: never)')
  .requiredOption('--reason <text>', 'why: the advisory, leak or incident')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/watch.js')).watchAddCommand(context, options)));

watch
  .command('list')
  .description('every watch, removed ones too, with who added it, when and why')
  .option('--json', 'JSON lines instead of text')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/watch.js')).watchListCommand(context, options)));

watch
  .command('remove')
  .description('end a watch (it stays listed, marked removed)')
  .argument('<id>', 'the watch id (tokenwatch watch list)')
  .action((id: string) => runCommand(async (context) => (await import('./commands/watch.js')).watchRemoveCommand(context, id)));

program
  .command('sweep')
  .description('which clients requested tokens from indicators of compromise (IPs, CIDRs, AS<n>, ua:<text>, one per line)')
  .argument('<file>', 'indicator file, or - for stdin')
  .option('--from <time>', 'from this time (RFC 3339, a date, or an age such as 30d; default: all stored history)')
  .option('--to <time>', 'up to this time (default: now)')
  .option('--json', 'one JSON object per line: tenant, client_id, indicator, first_seen, last_seen, requests, successes')
  .option('--alert', 'also raise an ioc_match alert (high) per client')
  .action((file: string, options: unknown) => runCommand(async (context) => (await import('./commands/sweep.js')).sweepCommand(context, file, options)));

program
  .command('clients')
  .description('every client the logs show (first and last request, auth methods, credentials, networks) with its owner from TOKENWATCH_INVENTORY')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--limit <n>', `at most this many (up to 10000)`, '1000')
  .option('--after <cursor>', 'the next page: the cursor the previous page printed on stderr')
  .option('--json', 'JSON lines instead of text')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/clients.js')).clientsCommand(context, options)));

program
  .command('credentials')
  .description('every credential per client (credential id or assertion kid): first and last use, age, networks, countries')
  .option('--tenant <tenant>', 'only this tenant')
  .option('--client <client_id>', 'only this client')
  .option('--limit <n>', 'at most this many (up to 10000)', '1000')
  .option('--json', 'JSON lines instead of text')
  .action((options: unknown) => runCommand(async (context) => (await import('./commands/credentials.js')).credentialsCommand(context, options)));

program
  .command('simulate')
  .description('simulated machine-client token requests with labeled attacks, as JSON lines on stdout')
  .option('--days <days>', 'days of traffic', '21')
  .option('--clients <count>', 'machine clients', '300')
  .option('--seed <seed>', 'PRNG seed: the same seed and --start give the same output', '1')
  .option('--start <date>', 'ISO date of the first day (default: --days before today, UTC)')
  .addOption(new Option('--format <format>', 'canonical TokenRequest JSON or each IdP\'s native log record').choices(['canonical', 'native']).default('canonical'))
  .addOption(new Option('--attacks <attacks>', 'inject labeled attacks (after 8 days of history)').choices(['all', 'none']).default('all'))
  .option('--attacks-per-kind <count>', 'attacks of each kind', '1')
  .option('--labels <file>', 'write the attack labels to this file as JSON lines')
  .action((options: unknown) => runCommand(async () => (await import('./commands/simulate.js')).simulateCommand(options)));

await program.parseAsync();
