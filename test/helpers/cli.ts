import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI; `npm test` builds before running vitest. */
export const CLI = fileURLToPath(new URL('../../services/cli/bin/tokenwatch.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess extends ChildProcess {
  /** Everything the process wrote to stderr so far (its logs), for failure messages. */
  readonly logs: () => string;
}

export function spawnCli(args: readonly string[], env: Record<string, string>, input?: string): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  // Drain stderr always: a full pipe would block the child's logging and stall it.
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return Object.assign(child, { logs: () => stderr });
}

export function runCli(args: readonly string[], env: Record<string, string>, { input, timeoutMs = 120_000 }: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, env, input);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tokenwatch ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${child.logs()}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: child.logs() });
    });
  });
}

/** Sends SIGTERM and waits for exit; returns the exit code. */
export function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error('process did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}
