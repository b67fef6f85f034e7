import { z } from 'zod';
import { loadConsoleKey, LOGIN_TOKEN_TTL_MS, signLoginToken, userNameSchema } from '@tokenwatch/console';
import { ConfigError } from '@tokenwatch/shared/errors';
import { osUserName } from '../operator.js';
import { parseFlags } from '../flags.js';
import type { CommandContext } from '../run.js';

const consoleFlags = z.object({ user: userNameSchema.optional() });

/**
 * `tokenwatch console [--user <name>]`: prints the console's address with a one-time sign-in
 * token for that user (default: the operating-system user), valid for five minutes. The token
 * rides in the URL's fragment, which browsers never send to a server or put in a Referer: the
 * page posts it once and removes it from the address bar.
 */
export async function consoleCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(consoleFlags, flags);
  if (!settings.TOKENWATCH_CONSOLE) throw new ConfigError('the console is off (TOKENWATCH_CONSOLE=false)');
  if (settings.TOKENWATCH_HTTP_PORT === 'off' || settings.TOKENWATCH_HTTP_PORT === 0) {
    throw new ConfigError('the console is served on TOKENWATCH_HTTP_PORT, which is off or 0 (any port): set the port `tokenwatch start` listens on');
  }
  const user = options.user ?? userNameSchema.safeParse(osUserName()).data;
  if (!user) throw new ConfigError('cannot tell who you are from the operating system: pass --user <name>');
  const token = signLoginToken(loadConsoleKey(settings), user, Date.now());
  const host = ['0.0.0.0', '::'].includes(settings.TOKENWATCH_HTTP_HOST) ? '127.0.0.1' : settings.TOKENWATCH_HTTP_HOST;
  const authority = host.includes(':') ? `[${host}]` : host;
  process.stdout.write(`http://${authority}:${settings.TOKENWATCH_HTTP_PORT}/#login=${token}\n`);
  process.stderr.write(`tokenwatch console: a sign-in link for ${user}, valid once within ${LOGIN_TOKEN_TTL_MS / 60_000} minutes\n`);
}
