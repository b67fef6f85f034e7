import { readFileSync } from 'node:fs';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';

/**
 * The bot token from SLACK_BOT_TOKEN or the file SLACK_BOT_TOKEN_FILE names (a mounted
 * secret), or undefined when neither is set. Errors name the setting, never the value.
 */
export function resolveSlackToken(settings: Pick<Settings, 'SLACK_BOT_TOKEN' | 'SLACK_BOT_TOKEN_FILE'>): string | undefined {
  if (settings.SLACK_BOT_TOKEN && settings.SLACK_BOT_TOKEN_FILE) {
    throw new ConfigError('set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, not both');
  }
  if (settings.SLACK_BOT_TOKEN) return checked(settings.SLACK_BOT_TOKEN.trim(), 'SLACK_BOT_TOKEN');
  if (!settings.SLACK_BOT_TOKEN_FILE) return undefined;
  let text: string;
  try {
    text = readFileSync(settings.SLACK_BOT_TOKEN_FILE, 'utf8');
  } catch (error) {
    // The message of a read error names the path and errno only, never file contents.
    throw new ConfigError(`cannot read SLACK_BOT_TOKEN_FILE=${settings.SLACK_BOT_TOKEN_FILE}: ${errorMessage(error)}`);
  }
  return checked(text.trim(), `the file SLACK_BOT_TOKEN_FILE=${settings.SLACK_BOT_TOKEN_FILE}`);
}

function checked(token: string, source: string): string {
  if (token === '') throw new ConfigError(`${source} is empty`);
  // A header value cannot hold these; the SDK would fail on every call with a confusing error.
  if (/[\s\u0000-\u001f]/.test(token)) throw new ConfigError(`${source} contains whitespace or control characters (expected one xoxb-… token)`);
  return token;
}
