import { open, rename, rm } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import type { SavedPosition } from './position.js';

/** A state file is a few hundred bytes; anything much larger is not one. */
const MAX_STATE_BYTES = 64 * 1024;

const stateSchema = z.strictObject({
  version: z.literal(1),
  /** The followed path, so a state file is never applied to another file by mistake. */
  file: z.string().min(1).max(4_096),
  dev: z.string().regex(/^\d{1,40}$/),
  ino: z.string().regex(/^\d{1,40}$/),
  position: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  savedAt: z.string().max(64),
});

/** The default state file of a followed file: beside it, so one directory holds both. */
export const defaultStatePath = (file: string): string => `${file}.tokenwatch-position.json`;

/**
 * The saved position of `file`, or undefined when there is none yet. A state file that is
 * not one, or belongs to another file, stops start-up: guessing would re-publish or skip lines.
 */
export async function loadPosition(statePath: string, file: string): Promise<SavedPosition | undefined> {
  let text: string;
  try {
    const handle = await open(statePath, 'r');
    try {
      const buffer = Buffer.alloc(MAX_STATE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_STATE_BYTES) throw new ConfigError(`state file ${statePath} is over ${MAX_STATE_BYTES} bytes: not a follow position; remove it to start again`);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read state file ${statePath}: ${errorMessage(error)}`);
  }
  let parsed;
  try {
    parsed = stateSchema.safeParse(JSON.parse(text));
  } catch {
    throw new ConfigError(`state file ${statePath} is not JSON; remove it to start again`);
  }
  if (!parsed.success) throw new ConfigError(`state file ${statePath} is not a follow position (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message}); remove it to start again`);
  if (parsed.data.file !== file) throw new ConfigError(`state file ${statePath} is the position in ${parsed.data.file}, not in ${file}; pass another --state`);
  const { dev, ino, position } = parsed.data;
  return { dev, ino, position };
}

/**
 * Replaces the state file atomically: written to a temporary file beside it, flushed to disk,
 * then renamed over it, so a crash leaves the old position or the new one, never half of one.
 */
export async function savePosition(statePath: string, file: string, position: SavedPosition): Promise<void> {
  const temporary = `${statePath}.${process.pid}.tmp`;
  const state = { version: 1, file, dev: position.dev, ino: position.ino, position: position.position, savedAt: new Date().toISOString() };
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, statePath);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new ConfigError(`cannot write state file ${statePath}: ${errorMessage(error)}`);
  }
}
