import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * How a CLI process finds the query server of the process that holds the embedded data
 * directory: a file inside that directory, readable only by its owner, naming the port and
 * a per-run token. The token keeps other local users off the loopback port.
 */
const discoverySchema = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65_535),
  token: z.string().min(32),
});

export type QueryServerAddress = z.infer<typeof discoverySchema>;

const FILE_NAME = 'query-server.json';

export function writeDiscovery(dataDir: string, address: QueryServerAddress): void {
  const path = join(dataDir, FILE_NAME);
  writeFileSync(path, JSON.stringify(address), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function removeDiscovery(dataDir: string, pid: number): void {
  const current = readDiscovery(dataDir);
  if (current?.pid === pid) rmSync(join(dataDir, FILE_NAME), { force: true });
}

/** The running query server for this data directory, or undefined when none is alive. */
export function readDiscovery(dataDir: string): QueryServerAddress | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, FILE_NAME), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = discoverySchema.safeParse(safeJson(text));
  if (!parsed.success || !isAlive(parsed.data.pid)) return undefined;
  return parsed.data;
}

/** JSON.parse that answers undefined instead of throwing: the caller's zod schema then says what was wrong. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
