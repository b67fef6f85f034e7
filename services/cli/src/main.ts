import { Command, Option } from 'commander';
import { FORMAT_NAMES } from '@tokenwatch/shared/formats/types';
import type { FormatChoice } from '@tokenwatch/shared/ingest/decode';
import { importCommand } from './commands/import.js';
import { ingestCommand } from './commands/ingest.js';
import { produceCommand } from './commands/produce.js';
import { sqlCommand } from './commands/sql.js';
import { tapCommand, type TapCommandOptions } from './commands/tap.js';
import { runCommand } from './run.js';

const program = new Command('tokenwatch')
  .description('Watches OAuth token requests of machine identities and alerts when one looks stolen.')
  .showHelpAfterError();

program
  .command('ingest')
  .description('consume token-request logs from Kafka into ClickHouse (always-on)')
  .action(() => runCommand(ingestCommand));

program
  .command('import')
  .description('validate and store JSON lines from a file (or - for stdin); rejects go to <file>.rejects.jsonl')
  .argument('<file>', 'JSON-lines file, or - for stdin')
  .addOption(new Option('--format <format>', 'the log format of every line (default: TOKENWATCH_FORMAT, auto-detect)').choices(['auto', ...FORMAT_NAMES]))
  .action((file: string, options: { format?: FormatChoice }) =>
    runCommand(async (context) => void (await importCommand(context, file, options.format ?? context.settings.TOKENWATCH_FORMAT))),
  );

program
  .command('produce')
  .description('publish JSON lines from a file (or - for stdin) to the token-request topic')
  .argument('<file>', 'JSON-lines file, or - for stdin')
  .option('--topic <topic>', 'topic to publish to (default: TOKENWATCH_TOPIC)')
  .action((file: string, options: { topic?: string }) =>
    runCommand(async (context) => void (await produceCommand(context, file, options.topic ?? context.settings.TOKENWATCH_TOPIC))),
  );

program
  .command('sql')
  .description('run read-only SQL; a table on a terminal, JSONEachRow when piped')
  .argument('<query>', 'the SQL query')
  .option('--format <format>', 'any ClickHouse output format, e.g. CSVWithNames')
  .action((query: string, options: { format?: string }) => runCommand((context) => sqlCommand(context, query, options.format)));

program
  .command('tap')
  .description('reverse proxy for an OAuth token endpoint: forwards every request unchanged, publishes each token request to the topic')
  .requiredOption('--upstream <url>', 'the upstream token endpoint, e.g. https://idp.example.com/oauth2/token')
  .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8089')
  .option('--trusted-proxy <cidr>', 'a proxy whose X-Forwarded-For is believed (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--tenant <tenant>', 'tenant of the events (default: the upstream origin)')
  .action((options: TapCommandOptions) => runCommand((context) => tapCommand(context, options)));

await program.parseAsync();
