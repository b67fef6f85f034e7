/**
 * npm run bench:ingest — sustained ingest throughput and peak RSS for 1,000,000 events, three
 * pipelines on the same topic and machine: tokenwatch, ClickHouse's own Kafka engine into
 * tokenwatch's schema (the same tables tokenwatch's ingest feeds: since migration 0017 no view
 * rolls up on insert), and the Kafka engine into a lean table (the ceiling: same parsing, no
 * detection schema). Rounds alternate (each pipeline once per round) so all see the same
 * noise; medians and their ratios are what docs/benchmarks.md quotes. BENCH_ROUNDS (default 3).
 * `npm run bench:ingest-views` (BENCH_MODE=views) prices table choices (raw column, engine).
 *
 * tokenwatch: `tokenwatch ingest` as its own process with a fresh data directory and group;
 * the clock starts when it logs that it is consuming and stops when token_requests holds
 * every event (polled through its query server every 200 ms). The rollups' cost moved from the
 * insert to the detector's tick (shared/src/storage/rollups/refresh.ts): after each run of this
 * build the bench times refreshRollups over the stored events (rollup-refresh.ts) and prints it
 * as a row of its own, "rollup refresh (at the tick)", so ingest plus rollups stays comparable
 * with a build whose views rolled up on insert.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { waitForChild } from '../helpers/wait.js';
import { BENCH_EVENTS, BENCH_TOPIC, ensureBenchTopic } from './bench-events.js';
import { THREAD_KINDS, ThreadCpuSampler, type ThreadKind } from './thread-cpu.js';

const CLI = fileURLToPath(new URL('../../services/cli/bin/tokenwatch.js', import.meta.url));
const BASELINE = fileURLToPath(new URL('./kafka-engine-baseline.ts', import.meta.url));
const ROLLUP_REFRESH = fileURLToPath(new URL('./rollup-refresh.ts', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_CPU_PROF=<dir>: every tokenwatch run writes a V8 CPU profile there (node --cpu-prof). */
const NODE_OPTIONS = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];

interface Run {
  events: number;
  seconds: number;
  /** CPU time of the whole process (every thread) while it ingested: less sensitive to a shared machine than the rate. */
  cpuSeconds: number;
  /**
   * tokenwatch only: cpuSeconds by kind of thread (thread-cpu.ts): its main thread (the
   * JavaScript: Kafka client, decode, zod, encoding), Node's helpers (GC, the libuv pool where
   * chDB's calls start), chDB's query threads and its merges. Says which part a change moved.
   */
  threadCpuSeconds?: Record<ThreadKind, number>;
  peakRssMb: number;
}

async function runTokenwatch(round: number, cli: string, settings: Record<string, string>, rollUp?: (run: Run) => void): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-'));
  const child = spawn(process.execPath, [...NODE_OPTIONS, cli, 'ingest'], {
    env: {
      ...process.env,
      ...settings,
      TOKENWATCH_DATA_DIR: dataDir,
      TOKENWATCH_TOPIC: BENCH_TOPIC,
      TOKENWATCH_CONSUMER_GROUP: `bench-tokenwatch-${Date.now()}-${round}`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let started = 0;
  let threads: ThreadCpuSampler | undefined;
  let logs = '';
  child.stderr.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
    if (!started && logs.includes('ingest worker consuming')) {
      started = performance.now();
      threads = new ThreadCpuSampler(child.pid as number);
    }
  });
  let stored = 0;
  await waitForChild(
    child,
    () => logs,
    async () => {
      const server = readDiscovery(dataDir);
      if (!started || !server) return false;
      const text = await streamText(await queryThroughServer(server, { query: 'SELECT count() AS n FROM token_requests', format: 'JSONEachRow' }));
      // A busy process may miss a poll on a loaded machine (a DependencyError): waitFor counts it as "not yet".
      stored = Number((JSON.parse(text) as { n: string }).n);
      return stored >= BENCH_EVENTS;
    },
    { timeoutMs: 600_000, intervalMs: 200, what: `tokenwatch ingest to store ${BENCH_EVENTS} events` },
  );
  const seconds = (performance.now() - started) / 1000;
  // The clock started with the sampler (waitForChild returns only after it has).
  const cpu = threads?.stop() ?? { total: 0, byKind: undefined };
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
  const server = readDiscovery(dataDir);
  const unique = server
    ? Number((JSON.parse(await streamText(await queryThroughServer(server, { query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' }))) as { n: string }).n)
    : -1;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  if (rollUp && unique === BENCH_EVENTS) rollUp(await runRollupRefresh(dataDir));
  rmSync(dataDir, { recursive: true, force: true });
  if (unique !== BENCH_EVENTS) throw new Error(`tokenwatch stored ${unique} unique events, expected ${BENCH_EVENTS}`);
  return { events: stored, seconds, cpuSeconds: cpu.total, threadCpuSeconds: cpu.byKind, peakRssMb: Math.round(peakRssKb / 1024) };
}

/** refreshRollups over what an ingest run stored, in a child process (rollup-refresh.ts). */
async function runRollupRefresh(dataDir: string): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', ROLLUP_REFRESH, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the rollup refresh exited with ${String(code)}`);
  return JSON.parse(output.trim().split('\n').pop() ?? '{}') as Run;
}

async function runEngine(round: number, variant: string): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-engine-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', BASELINE, dataDir, BENCH_TOPIC, `bench-kafka-engine-${Date.now()}-${round}`, String(BENCH_EVENTS), variant],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`Kafka engine (${variant}) exited with ${String(code)}`);
  const run = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Run;
  if (run.events < BENCH_EVENTS) throw new Error(`Kafka engine (${variant}) stored only ${run.events} events`);
  return run;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** One pipeline of the table: a name and how to run one round of it. */
interface Pipeline {
  readonly name: string;
  readonly run: (round: number) => Promise<Run>;
}

/**
 * BENCH_MODE=pipelines (default): tokenwatch, the Kafka engine into tokenwatch's schema and the
 * Kafka engine into a lean table. BENCH_MODE=views: the Kafka engine into the full schema and
 * into the full schema minus one thing at a time (each rollup view, the raw column,
 * ReplacingMergeTree), so each costs a figure. BENCH_MODE=tokenwatch: tokenwatch (and its
 * variants) alone. BENCH_TOKENWATCH adds tokenwatch variants to
 * the pipelines table, `;`-separated `label|cli path|ENV=value ...` (another build's
 * services/cli/bin/tokenwatch.js, other settings), to compare changes in the same run.
 */
function pipelines(mode: string): Pipeline[] {
  if (mode === 'views') {
    // The rollup views are gone since migration 0017 (the detector's tick rolls up); what is left to price is the table.
    const variants = ['full', 'no-raw', 'mergetree', 'lean'];
    return variants.map((variant) => ({ name: `Kafka engine, ${variant}`, run: (round) => runEngine(round, variant) }));
  }
  if (mode !== 'pipelines' && mode !== 'tokenwatch') throw new Error(`BENCH_MODE must be pipelines, views or tokenwatch, not ${mode}`);
  const extra = (process.env.BENCH_TOKENWATCH ?? '')
    .split(';')
    .filter((spec) => spec.trim() !== '')
    .map((spec): Pipeline => {
      const [label = '', cli = '', settings = ''] = spec.split('|');
      // Split at the first `=` only: a value may hold one (NODE_OPTIONS=--max-semi-space-size=64).
      const env = Object.fromEntries(settings.split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      return { name: `tokenwatch ingest, ${label}`, run: (round) => runTokenwatch(round, cli || CLI, env) };
    });
  const tokenwatch = [
    { name: 'tokenwatch ingest', run: (round: number) => runTokenwatch(round, CLI, {}, (refresh) => runs.get(ROLLUP_ROW)?.push(refresh)) },
    ...extra,
  ];
  if (mode === 'tokenwatch') return tokenwatch;
  return [
    ...tokenwatch,
    { name: 'Kafka engine into tokenwatch schema', run: (round) => runEngine(round, 'full') },
    { name: 'Kafka engine into lean table', run: (round) => runEngine(round, 'lean') },
  ];
}

/** The row of the rollups' refresh after each run of this build's ingest (its events/s: events rolled up per second). */
const ROLLUP_ROW = 'rollup refresh (at the tick), after tokenwatch ingest';

const MODE = process.env.BENCH_MODE ?? 'pipelines';
const runs = new Map<string, Run[]>();
const table = pipelines(MODE);
await ensureBenchTopic();
for (const { name } of table) runs.set(name, []);
if (MODE !== 'views') runs.set(ROLLUP_ROW, []);
const perSecond = (run: Run) => run.events / run.seconds;
const cpuPerEvent = (run: Run) => (1e6 * run.cpuSeconds) / run.events;
/** The main thread's share, for tokenwatch runs ('–' for the Kafka engine, which has no JavaScript). */
const mainThreadPerEvent = (own: readonly Run[]): string => {
  const values = own.flatMap((run) => (run.threadCpuSeconds === undefined ? [] : [(1e6 * run.threadCpuSeconds.main) / run.events]));
  return values.length === 0 ? '–' : median(values).toFixed(1);
};
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const pipeline of table) {
    const run = await pipeline.run(round);
    runs.get(pipeline.name)?.push(run);
    console.error(`round ${round}: ${pipeline.name}: ${Math.round(perSecond(run))} events/s, ${cpuPerEvent(run).toFixed(1)} CPU µs/event (${run.peakRssMb} MB peak RSS)`);
  }
}
const rate = (name: string) => median((runs.get(name) ?? []).map(perSecond));
const referenceName = { views: 'Kafka engine, full', tokenwatch: 'tokenwatch ingest' }[MODE] ?? 'Kafka engine into tokenwatch schema';
const reference = rate(referenceName);
console.log(`\n${BENCH_EVENTS.toLocaleString('en')} events, topic ${BENCH_TOPIC}, ${ROUNDS} alternating rounds, medians:\n`);
console.log(
  `| pipeline | events/s (median) | runs (events/s) | CPU µs/event (median) | of which main thread (JavaScript) | peak RSS MB (median) | rate vs ${referenceName} | CPU vs ${referenceName} |`,
);
console.log('|---|---|---|---|---|---|---|---|');
const referenceCpu = median((runs.get(referenceName) ?? []).map(cpuPerEvent));
for (const name of runs.keys()) {
  const own = runs.get(name) ?? [];
  const ownRate = rate(name);
  console.log(
    `| ${name} | ${Math.round(ownRate).toLocaleString('en')} | ${own.map((run) => Math.round(perSecond(run)).toLocaleString('en')).join(', ')} | ` +
      `${median(own.map(cpuPerEvent)).toFixed(1)} | ${mainThreadPerEvent(own)} | ${median(own.map((run) => run.peakRssMb))} | ${(ownRate / reference).toFixed(2)} | ${(median(own.map(cpuPerEvent)) / referenceCpu).toFixed(2)} |`,
  );
}
const withThreads = [...runs.entries()].filter(([, own]) => own.some((run) => run.threadCpuSeconds !== undefined));
if (withThreads.length > 0) {
  console.log(`\nWhere tokenwatch's CPU went, µs/event by kind of thread (thread-cpu.ts; medians):\n`);
  console.log(`| pipeline | ${THREAD_KINDS.join(' | ')} | all threads |`);
  console.log(`|---|${THREAD_KINDS.map(() => '---|').join('')}---|`);
  for (const [name, own] of withThreads) {
    const perEvent = (kind: ThreadKind) => median(own.map((run) => (1e6 * (run.threadCpuSeconds?.[kind] ?? 0)) / run.events)).toFixed(1);
    console.log(`| ${name} | ${THREAD_KINDS.map(perEvent).join(' | ')} | ${median(own.map(cpuPerEvent)).toFixed(1)} |`);
  }
}
const refreshes = runs.get(ROLLUP_ROW) ?? [];
if (refreshes.length > 0) {
  const ingestCpu = median((runs.get('tokenwatch ingest') ?? []).map(cpuPerEvent));
  const refreshCpu = median(refreshes.map(cpuPerEvent));
  console.log(
    `\ntokenwatch ingest + rollup refresh: ${(ingestCpu + refreshCpu).toFixed(1)} CPU µs/event (${ingestCpu.toFixed(1)} + ${refreshCpu.toFixed(1)}); ` +
      `refresh windows: ${refreshes.map((run) => (run as Run & { windows?: number }).windows ?? '?').join(', ')}`,
  );
}
