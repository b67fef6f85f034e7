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

/** The `done` of an observation that answers "not yet" with undefined. */
export const isDefined = <T>(observation: T | undefined): observation is T => observation !== undefined;

function describe(observation: unknown): string {
  const text = typeof observation === 'string' ? observation : inspect(observation, { depth: 4, breakLength: Infinity });
  return text.length > QUOTE_CHARS ? `…${text.slice(-QUOTE_CHARS)}` : text;
}
