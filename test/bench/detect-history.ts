import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';

/**
 * What the detector benches (bench:detect, bench:jti-lookup, bench:concurrent-networks) share:
 * their shape from the environment, the generated history, loaded by detect-load.ts in a child
 * process of its own (why: its doc), and the median they quote.
 */
const LOADER = fileURLToPath(new URL('./detect-load.ts', import.meta.url));

const count = z.coerce.number().int().positive();

export interface DetectBenchShape {
  /** BENCH_SIZES, comma-separated: the stored history sizes measured, one after the other. */
  sizes: number[];
  /** BENCH_ROUNDS: the rounds per size, each over a new batch. */
  rounds: number;
  /** BENCH_NEW_EVENTS (default 10,000): the events one round stores and its ticks examine. */
  newEvents: number;
}

/** BENCH_SIZES, BENCH_ROUNDS and BENCH_NEW_EVENTS, or the bench's own defaults; a bad value stops the bench naming it. */
export function detectBenchShape(defaults: { sizes: readonly number[]; rounds: number }, env: NodeJS.ProcessEnv = process.env): DetectBenchShape {
  const parsed = z
    .object({
      BENCH_SIZES: z
        .string()
        .default(defaults.sizes.join(','))
        .transform((text) => text.split(',').map(Number))
        .pipe(z.array(z.number().int().positive()).nonempty()),
      BENCH_ROUNDS: count.default(defaults.rounds),
      BENCH_NEW_EVENTS: count.default(10_000),
    })
    .safeParse(env);
  if (!parsed.success) throw new Error(`bad bench setting: ${z.prettifyError(parsed.error)}`);
  return { sizes: parsed.data.BENCH_SIZES, rounds: parsed.data.BENCH_ROUNDS, newEvents: parsed.data.BENCH_NEW_EVENTS };
}

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

/**
 * Opens dataDir's embedded engine for loading generated history: under BENCH_LOAD_MEMORY_LIMIT_MB
 * (default 4096; filling the rollups of millions of rows needs more than tokenwatch's default),
 * migrated with a retention long enough to keep all of it.
 */
export async function openLoadStorage(dataDir: string): Promise<{ clickhouse: ClickHouse; loadLimitMb: number }> {
  const loadLimitMb = z.coerce.number().int().positive().default(4096).parse(process.env.BENCH_LOAD_MEMORY_LIMIT_MB);
  const clickhouse = await openClickHouse({
    TOKENWATCH_DATA_DIR: dataDir,
    TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB: loadLimitMb,
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_PASSWORD: '',
    CLICKHOUSE_DATABASE: 'default',
  });
  await migrate(clickhouse.client, { retention_days: 7_300 });
  return { clickhouse, loadLimitMb };
}
