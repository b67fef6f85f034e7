import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@tokenwatch/shared/errors';

const KEY_FILE = 'console.key';

/**
 * The key that signs console login links: TOKENWATCH_CONSOLE_KEY when set (replicas behind one
 * address share it), else a random key kept in the data directory, readable only by its owner
 * (created by whichever of `tokenwatch start` and `tokenwatch console` runs first). Whoever can
 * read it can sign in as anyone: it is as sensitive as the data directory itself.
 */
export function loadConsoleKey(settings: { TOKENWATCH_CONSOLE_KEY?: string | undefined; TOKENWATCH_DATA_DIR: string }): Buffer {
  if (settings.TOKENWATCH_CONSOLE_KEY) return Buffer.from(settings.TOKENWATCH_CONSOLE_KEY, 'utf8');
  const path = join(settings.TOKENWATCH_DATA_DIR, KEY_FILE);
  mkdirSync(settings.TOKENWATCH_DATA_DIR, { recursive: true });
  try {
    // 'wx': two processes starting at once must not each write (and trust) a different key.
    writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create the console key ${path}: ${(error as Error).message}`);
  }
  chmodSync(path, 0o600);
  const key = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(key)) throw new ConfigError(`the console key ${path} is not 64 hex digits: delete it and start again`);
  return Buffer.from(key, 'hex');
}
