import type { ChildProcess } from 'node:child_process';
import { inspect } from 'node:util';

export interface WaitOptions {
  /** Give up after this long; the error says what was awaited and what was seen last. */
  readonly timeoutMs?: number;
  /** Pause between two observations (polling, not synchronisation). */
  readonly intervalMs?: number;
  /** What the test is waiting for, in words: "20000 stored events". */
  readonly what: string;
}

/** How much of the last observation a timeout message quotes (long logs keep their end). */
const QUOTE_CHARS = 4_000;

/**
 * Observes until `done(observation)` holds and returns that observation. An observation that
 * throws (a server not up yet) counts as "not yet" and its error as what was seen. On timeout
 * the error names what was awaited and quotes the last observation, so a failure says how far
 * the system got instead of only that it was slow.
 */
export async function waitFor<T, Done extends T>(observe: () => T | Promise<T>, done: (observation: T) => observation is Done, options: WaitOptions): Promise<Done>;
export async function waitFor<T>(observe: () => T | Promise<T>, done: (observation: T) => boolean, options: WaitOptions): Promise<T>;
export async function waitFor<T>(observe: () => T | Promise<T>, done: (observation: T) => boolean, options: WaitOptions): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 200, what } = options;
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing (no observation finished)';
  for (;;) {
    try {
      const observation = await observe();
      if (done(observation)) return observation;
      last = describe(observation);
    } catch (error) {
      last = `an error: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last observed: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** How much of a child's log an error of waitForChild quotes (its end). */
const LOG_TAIL_CHARS = 2_000;

/**
 * waitFor of a condition a child process (tokenwatch) brings about: fails at once when the
 * child exits first instead of waiting out the timeout, and every failure quotes the end of
 * the child's log, which says why far better than the condition does.
 */
export async function waitForChild(child: ChildProcess, logs: () => string, done: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  let state: 'done' | 'exited' | 'waiting';
  try {
    state = await waitFor(
      async () => (child.exitCode !== null ? 'exited' : (await done()) ? 'done' : 'waiting'),
      (observed) => observed !== 'waiting',
      options,
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}: ${logs().slice(-LOG_TAIL_CHARS)}`);
  }
  if (state === 'exited') throw new Error(`the child process exited (${String(child.exitCode)}) before ${options.what}: ${logs().slice(-LOG_TAIL_CHARS)}`);
}

/** The `done` of an observation that answers "not yet" with undefined. */
export const isDefined = <T>(observation: T | undefined): observation is T => observation !== undefined;

function describe(observation: unknown): string {
  const text = typeof observation === 'string' ? observation : inspect(observation, { depth: 4, breakLength: Infinity });
  return text.length > QUOTE_CHARS ? `…${text.slice(-QUOTE_CHARS)}` : text;
}
