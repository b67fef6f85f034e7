import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * What the detector benches (bench:detect, bench:jti-lookup, bench:concurrent-networks) share:
 * the generated history, loaded by detect-load.ts in a child process of its own (why: its doc),
 * and the median they quote.
 */
const LOADER = fileURLToPath(new URL('./detect-load.ts', import.meta.url));

/** Loads `size` events of history, ending a minute ago, into dataDir; returns its load time and the engine limit it ran under. */
export async function loadDetectHistory(dataDir: string, size: number): Promise<{ loadSeconds: number; loadLimitMb: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', LOADER, dataDir, String(size), String(Date.now() - 60_000)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`loading ${size.toLocaleString('en')} events of history exited with ${String(code)}`);
  return z.object({ loadSeconds: z.number(), loadLimitMb: z.number() }).parse(JSON.parse(output.trim().split('\n').pop() ?? '{}'));
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
