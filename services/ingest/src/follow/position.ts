/**
 * Where to read a followed file, decided from what is on disk: pure, so the cases of
 * `tail -F` (rotation, truncation, a restart) are tested without a file system.
 */

/** Which file this is, whatever its name: a rotated file keeps it, a new file at the path has another. */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
}

export interface FileState extends FileIdentity {
  readonly size: number;
}

/** What the state file remembers: the file and the offset up to which the broker acknowledged its lines. */
export interface SavedPosition extends FileIdentity {
  readonly position: number;
}

export type StartReason = 'saved' | 'beginning' | 'end' | 'truncated_while_stopped' | 'replaced_while_stopped';

export interface Start {
  readonly position: number;
  readonly reason: StartReason;
}

export const sameFile = (a: FileIdentity, b: FileIdentity): boolean => a.dev === b.dev && a.ino === b.ino;

/**
 * The offset to start reading `current` at. A saved position wins over `fromEnd` (which is for
 * the first run only); a saved position of another file (rotated while stopped) or past the end
 * (truncated while stopped) means the file at the path is new to us: read all of it.
 */
export function startPosition(saved: SavedPosition | undefined, current: FileState, fromEnd: boolean): Start {
  if (saved === undefined) return fromEnd ? { position: current.size, reason: 'end' } : { position: 0, reason: 'beginning' };
  if (!sameFile(saved, current)) return { position: 0, reason: 'replaced_while_stopped' };
  if (current.size < saved.position) return { position: 0, reason: 'truncated_while_stopped' };
  return { position: saved.position, reason: 'saved' };
}

export type NextStep = 'wait' | 'truncated' | 'rotated';

/**
 * What to do once the open file is read to its end. Truncated: it is shorter than what was
 * read (copytruncate, `> file`), so start again at 0. Rotated: the path names another file now
 * (rename and create), so switch to it; the open one was read to its end first. Otherwise (the
 * same file, or no file at the path yet during a rotation) wait for more.
 */
export function nextStep(readOffset: number, open: FileState, atPath: FileIdentity | undefined): NextStep {
  if (open.size < readOffset) return 'truncated';
  if (atPath !== undefined && !sameFile(open, atPath)) return 'rotated';
  return 'wait';
}
