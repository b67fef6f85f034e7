import { loadSettings, type Settings } from '@tokenwatch/shared/config/settings';
import { errorMessage, isOperatorError } from '@tokenwatch/shared/errors';
import { createLogger, type Logger } from '@tokenwatch/shared/log';

export interface CommandContext {
  readonly settings: Settings;
  readonly logger: Logger;
}

/**
 * Runs one command. Operator errors (bad settings, unreachable dependencies, a stream
 * that is mostly invalid) end the process with one line and exit code 1; anything else is
 * a bug and is printed with its stack.
 */
export async function runCommand(command: (context: CommandContext) => Promise<void>): Promise<void> {
  try {
    const settings = loadSettings();
    const logger = createLogger(settings.LOG_LEVEL);
    await command({ settings, logger });
  } catch (error) {
    // One line, always: ClickHouse messages can span several.
    if (isOperatorError(error)) process.stderr.write(`tokenwatch: ${errorMessage(error).replace(/\s*\n\s*/g, ' ').trim()}\n`);
    else process.stderr.write(`tokenwatch: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
