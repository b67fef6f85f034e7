import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { terminate } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// What a user's `tokenwatch start` (npm's bin, outside the image) runs with: the launcher
// services/cli/bin/tokenwatch gives it the V8 heap flags and glibc tunables of docs/memory.md,
// in the same process (exec), and a caller's own NODE_OPTIONS / GLIBC_TUNABLES win flag by flag.

/** npm's link, as `npm start` and `npx tokenwatch` run it: a stale link to tokenwatch.js fails here. */
const NPM_BIN = fileURLToPath(new URL('../../node_modules/.bin/tokenwatch', import.meta.url));
const MIB = 1024 * 1024;

interface Started {
  child: ChildProcess;
  heapLimitMib: number;
  tunables: string | undefined;
  commandLine: string[];
}

/**
 * GLIBC_TUNABLES as the process started with it. glibc (2.36 here) parses it in place when the
 * process starts, writing a NUL over each `:`, so in /proc/<pid>/environ the tunables after the
 * first are entries of their own: proof that glibc read them, and joined again here.
 */
function tunablesOf(environ: string): string | undefined {
  const entries = environ.split('\0');
  const first = entries.findIndex((entry) => entry.startsWith('GLIBC_TUNABLES='));
  if (first < 0) return undefined;
  const rest = entries.slice(first + 1);
  const end = rest.findIndex((entry) => !entry.startsWith('glibc.'));
  const more = end < 0 ? rest : rest.slice(0, end);
  return [entries[first]?.slice('GLIBC_TUNABLES='.length), ...more].join(':');
}

/** Runs `tokenwatch start` with only `callerEnv` besides the test's own settings, until /metrics answers. */
async function start(name: string, callerEnv: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...testEnv(name, { TOKENWATCH_HTTP_PORT: String(port) }), ...callerEnv };
  const child = spawn(NPM_BIN, ['start'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  const metrics = await waitFor(
    async () => ({ body: await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text(), () => ''), exited: child.exitCode, logs }),
    (seen) => seen.body.includes('tokenwatch_nodejs_heap_size_limit_bytes ') || seen.exited !== null,
    { timeoutMs: 60_000, what: `/metrics of tokenwatch start (${name})` },
  );
  expect(child.exitCode, logs).toBeNull();
  const limitLine = metrics.body.split('\n').find((line) => line.startsWith('tokenwatch_nodejs_heap_size_limit_bytes '));
  const pid = child.pid ?? Number.NaN;
  return {
    child,
    heapLimitMib: Number(limitLine?.split(' ')[1]) / MIB,
    tunables: tunablesOf(readFileSync(`/proc/${pid}/environ`, 'utf8')),
    commandLine: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
  };
}

describe('tokenwatch start outside the image', () => {
  it('gets the heap cap and glibc tunables by itself, in one process, and a caller\'s own values win', async () => {
    const [plain, overridden] = await Promise.all([
      start('memory-defaults', {}),
      start('memory-overridden', { NODE_OPTIONS: '--max-old-space-size=512', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' }),
    ]);
    try {
      // The pid that was spawned is Node.js itself running the entry point: the shell exec'd it,
      // so no launcher process stays beside it.
      expect(plain.commandLine.slice(-2)).toEqual([fileURLToPath(new URL('../../services/cli/bin/tokenwatch.js', import.meta.url)), 'start']);
      expect(plain.commandLine).toEqual(expect.arrayContaining(['--max-old-space-size=384', '--max-semi-space-size=4']));
      // heap_size_limit is the old space plus the young generation (3 semi-spaces of 4 MiB on Node 20);
      // without the flags it is V8's own, sized from the host's memory (4,144 MiB on a 16 GB host).
      expect(plain.heapLimitMib).toBeGreaterThanOrEqual(384);
      expect(plain.heapLimitMib).toBeLessThan(400);
      expect(plain.tunables).toBe('glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072');

      expect(overridden.heapLimitMib).toBeGreaterThanOrEqual(512);
      expect(overridden.heapLimitMib).toBeLessThan(528);
      expect(overridden.commandLine).not.toContain('--max-old-space-size=384');
      expect(overridden.commandLine).toContain('--max-semi-space-size=4'); // not named by the caller: still the default
      expect(overridden.tunables).toBe('glibc.malloc.mmap_threshold=262144:glibc.malloc.trim_threshold=131072');
    } finally {
      await Promise.all([terminate(plain.child), terminate(overridden.child)]);
    }
  }, 120_000);
});
