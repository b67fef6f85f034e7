/**
 * npm run bench:memory — where a whole embedded `tokenwatch` process's memory goes, sampled once
 * a second, in these scenarios:
 *
 * - `start-1m`: `tokenwatch start` (ingest + detectors + notifier + query server, embedded chDB)
 *   on a fresh data directory, reading the 1,000,000 bench events (bench-events.ts) until
 *   `token_requests` holds them all, then until every detector ran once more.
 * - `demo-day`: `tokenwatch demo --history-days 1` against the running broker with a fresh topic
 *   and data directory: until the day's back-fill is produced and consumed (consumer lag 0),
 *   then until every detector ran three more times.
 * - `tick-after-1m` (not in the default list): `tokenwatch start` on a copy of a data directory
 *   where `tokenwatch ingest` stored the 1M bench events (once per bench run), with nothing left
 *   to consume: until every detector ran once. Its first tick examines the whole back-fill: the
 *   detector tick's peak, alone and whatever the load (in start-1m, how far the detectors fall
 *   behind the ingest depends on the machine).
 *
 * Each sample: the process's RSS (/proc/<pid>/status), V8's heap and external memory (its own
 * /metrics, prom-client's default collectors) and chDB's MemoryTracking and cache bytes
 * (system.metrics through the query server). Peak RSS is VmHWM at the end. The Node figures
 * are what a server-mode (CLICKHOUSE_URL) process holds besides its client's buffers: there the
 * engine runs elsewhere.
 *
 * Where the peak is: /proc/<pid>/status every BENCH_MEMORY_PROC_MS (100) for the highest RSS and its
 * anonymous / file-backed split, VmHWM when each phase ends, and the running engine queries
 * (system.processes, every BENCH_MEMORY_QUERIES_MS, 250) with the most memory each held.
 *
 * BENCH_MEMORY_SCENARIOS (default `start-1m,demo-day`); BENCH_ROUNDS (default 1). Variants:
 * BENCH_MEMORY_VARIANTS is a `;`-separated list of `name:VAR=value,VAR=value` (default one
 * variant, `defaults`, with the shipped settings, the launcher's memory settings included); rounds alternate variants so they see the
 * same noise. Prints a Markdown table for docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { waitForChild } from '../helpers/wait.js';
import { BENCH_EVENTS, BENCH_TOPIC, ensureBenchTopic } from './bench-events.js';

/**
 * The `tokenwatch` command as users and the image run it: the launcher gives start, demo and
 * ingest their memory settings (heap cap, semi-spaces, glibc tunables) by itself; a variant's
 * NODE_OPTIONS or GLIBC_TUNABLES overrides them flag by flag.
 */
const CLI = fileURLToPath(new URL('../../services/cli/bin/tokenwatch', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SCENARIOS = (process.env.BENCH_MEMORY_SCENARIOS ?? 'start-1m,demo-day').split(',').map((name) => name.trim()) as ScenarioName[];
const MB = 1024 * 1024;
/** The full sample (RSS, V8, engine metrics); BENCH_MEMORY_SAMPLE_MS. */
const SAMPLE_MS = Number(process.env.BENCH_MEMORY_SAMPLE_MS ?? 1_000);
/**
 * /proc/<pid>/status alone, cheap enough to read this often (BENCH_MEMORY_PROC_MS): the peak
 * (VmHWM) of a detector tick lasts less than a second and fell between full samples.
 */
const PROC_MS = Number(process.env.BENCH_MEMORY_PROC_MS ?? 100);
/** How often the engine's running queries (system.processes) are read; BENCH_MEMORY_QUERIES_MS. */
const QUERIES_MS = Number(process.env.BENCH_MEMORY_QUERIES_MS ?? 250);
const DEADLINE_MS = 20 * 60_000;

type ScenarioName = 'start-1m' | 'demo-day' | 'tick-after-1m';

interface Variant {
  name: string;
  env: Record<string, string>;
}

interface Sample {
  seconds: number;
  rssMb: number;
  /** RssAnon: what the kernel cannot drop without swap; RssFile: file pages (chDB's code), reclaimable. */
  anonMb: number;
  fileMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  engineTrackedMb: number;
  engineCachesMb: number;
}

interface Run {
  scenario: ScenarioName;
  variant: string;
  peakRssMb: number;
  /** VmHWM when each phase ended, in order, and its length (s). */
  phases: { phase: string; peakRssMb: number; seconds: number }[];
  /** The highest /proc sample (every PROC_MS), its split and the phase it fell in. */
  highest: ProcSample & { phase: string };
  /** The engine's queries that held the most memory (system.processes peak_memory_usage). */
  heavyQueries: { query: string; peakMb: number; phase: string }[];
  /** The most memory the engine's background merges held at one moment (system.merges), how many ran then, and the phase. */
  heaviestMerges: MergesSample;
  /** Events stored per second while ingesting (start-1m only). */
  eventsPerSecond?: number;
  samples: Sample[];
  /** What the engine's limit cost: queries it refused, GROUP BY / ORDER BY parts spilled to disk. */
  refusedForMemory: number;
  spilledParts: number;
  /** Failed detector runs and insert attempts (each retried). */
  detectorErrors: number;
  insertErrors: number;
}

function parseVariants(text: string | undefined): Variant[] {
  if (!text) return [{ name: 'defaults', env: {} }];
  return text.split(';').filter(Boolean).map((entry) => {
    const [name = '', assignments = ''] = entry.split(/:(.*)/s);
    const env = Object.fromEntries(assignments.split(',').filter(Boolean).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
    return { name: name.trim(), env };
  });
}

/** The port the ops server bound (TOKENWATCH_HTTP_PORT=0), from its start-up log line. */
function opsPort(logs: string): number | undefined {
  const line = logs.split('\n').find((text) => text.includes('"serving /healthz, /readyz and /metrics"'));
  return line ? (JSON.parse(line) as { port?: number }).port : undefined;
}

type StatusField = 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile' | 'RssShmem';

function procStatusKb(pid: number, field: StatusField, status = readFileSync(`/proc/${pid}/status`, 'utf8')): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
}

interface ProcSample {
  seconds: number;
  rssMb: number;
  anonMb: number;
  fileMb: number;
}

function procSample(pid: number, started: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mbOf = (field: StatusField) => procStatusKb(pid, field, status) / 1024;
  return { seconds: (performance.now() - started) / 1000, rssMb: mbOf('VmRSS'), anonMb: mbOf('RssAnon'), fileMb: mbOf('RssFile') + mbOf('RssShmem') };
}

/** Sums of the Prometheus samples named, each without labels or over all its labels. */
async function scrape(port: number | undefined, names: readonly string[]): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  if (port === undefined) return sums;
  const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  if (!response?.ok) return sums;
  for (const line of (await response.text()).split('\n')) {
    const name = /^[a-z_]+/.exec(line)?.[0];
    if (!name || !names.includes(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

const ENGINE_QUERY =
  "SELECT metric, value FROM system.metrics WHERE metric = 'MemoryTracking' OR (metric LIKE '%CacheBytes' AND value > 0)";

async function queryRowsThroughServer<T>(dataDir: string, query: string): Promise<T[]> {
  const server = readDiscovery(dataDir);
  if (!server) return [];
  const text = await streamText(await queryThroughServer(server, { query, format: 'JSONEachRow' }));
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
}

/** The running queries' text, shortened and with literals kept: which detector's SQL it is shows in its first words. */
const PROCESSES_QUERY =
  "SELECT substring(replaceRegexpAll(query, '\\\\s+', ' '), 1, 120) AS query, peak_memory_usage AS peak FROM system.processes WHERE query NOT LIKE '%system.processes%'";

/** Background merges are no query: system.processes does not show them, system.merges does (memory held now). */
const MERGES_QUERY =
  "SELECT concat(table, ': ', toString(num_parts), ' parts, ', merge_algorithm, ', ', toString(total_size_marks), ' marks') AS merge, memory_usage AS bytes FROM system.merges";

interface MergesSample {
  mb: number;
  merges: number;
  phase: string;
  /** The merge that held the most at that moment: its table, parts, algorithm and size. */
  heaviest: string;
}

class Sampler {
  readonly samples: Sample[] = [];
  readonly phases: { phase: string; peakRssMb: number; seconds: number }[] = [];
  private phaseStarted = performance.now();
  highest: ProcSample & { phase: string } = { seconds: 0, rssMb: 0, anonMb: 0, fileMb: 0, phase: '' };
  private readonly heavy = new Map<string, { peakMb: number; phase: string }>();
  heaviestMerges: MergesSample = { mb: 0, merges: 0, phase: '', heaviest: '' };
  private readonly started = performance.now();
  private phase: string;
  private timers: NodeJS.Timeout[] = [];
  private busy = false;
  private queriesBusy = false;

  constructor(private readonly child: ChildProcess, private readonly dataDir: string, private readonly httpPort: () => number | undefined, firstPhase: string) {
    this.phase = firstPhase;
  }

  start(): void {
    this.timers = [
      setInterval(() => void this.sample(), SAMPLE_MS),
      setInterval(() => this.sampleProc(), PROC_MS),
      setInterval(() => void this.sampleQueries(), QUERIES_MS),
    ];
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Ends the current phase: records VmHWM so far, and names what comes next. */
  endPhase(next: string): void {
    const now = performance.now();
    if (this.child.pid && this.child.exitCode === null) this.phases.push({ phase: this.phase, peakRssMb: procStatusKb(this.child.pid, 'VmHWM') / 1024, seconds: (now - this.phaseStarted) / 1000 });
    this.phase = next;
    this.phaseStarted = now;
  }

  heavyQueries(count: number): { query: string; peakMb: number; phase: string }[] {
    return [...this.heavy].map(([query, seen]) => ({ query, ...seen })).sort((a, b) => b.peakMb - a.peakMb).slice(0, count);
  }

  private sampleProc(): void {
    if (this.child.exitCode !== null || !this.child.pid) return;
    try {
      const sample = procSample(this.child.pid, this.started);
      if (sample.rssMb > this.highest.rssMb) this.highest = { ...sample, phase: this.phase };
    } catch {
      // The process is exiting.
    }
  }

  private async sampleQueries(): Promise<void> {
    if (this.queriesBusy || this.child.exitCode !== null) return;
    this.queriesBusy = true;
    try {
      const rows = await queryRowsThroughServer<{ query: string; peak: string }>(this.dataDir, PROCESSES_QUERY).catch(() => []);
      for (const row of rows) {
        const peakMb = Number(row.peak) / MB;
        // Literals differ between runs of the same query: the key is its text up to the first quote or digit run.
        const key = row.query.replace(/'[^']*'/g, "'…'").replace(/\d{4,}/g, 'N');
        if (peakMb > (this.heavy.get(key)?.peakMb ?? 0)) this.heavy.set(key, { peakMb, phase: this.phase });
      }
      const merges = await queryRowsThroughServer<{ merge: string; bytes: string }>(this.dataDir, MERGES_QUERY).catch(() => []);
      const mergesMb = merges.reduce((sum, merge) => sum + Number(merge.bytes), 0) / MB;
      if (mergesMb > this.heaviestMerges.mb) {
        const heaviest = merges.reduce((top, merge) => (Number(merge.bytes) > Number(top.bytes) ? merge : top), { merge: '', bytes: '0' });
        this.heaviestMerges = { mb: mergesMb, merges: merges.length, phase: this.phase, heaviest: `${heaviest.merge} (${mb(Number(heaviest.bytes) / MB)} MB)` };
      }
    } finally {
      this.queriesBusy = false;
    }
  }

  private async sample(): Promise<void> {
    if (this.busy || this.child.exitCode !== null || !this.child.pid) return;
    this.busy = true;
    try {
      const { rssMb, anonMb, fileMb } = procSample(this.child.pid, this.started);
      const node = await scrape(this.httpPort(), ['tokenwatch_nodejs_heap_size_used_bytes', 'tokenwatch_nodejs_heap_size_total_bytes', 'tokenwatch_nodejs_external_memory_bytes']);
      const engine = await queryRowsThroughServer<{ metric: string; value: string }>(this.dataDir, ENGINE_QUERY).catch(() => []);
      const metric = (name: string) => Number(engine.find((row) => row.metric === name)?.value ?? Number.NaN);
      this.samples.push({
        seconds: (performance.now() - this.started) / 1000,
        rssMb,
        anonMb,
        fileMb,
        heapUsedMb: (node.get('tokenwatch_nodejs_heap_size_used_bytes') ?? Number.NaN) / MB,
        heapTotalMb: (node.get('tokenwatch_nodejs_heap_size_total_bytes') ?? Number.NaN) / MB,
        externalMb: (node.get('tokenwatch_nodejs_external_memory_bytes') ?? Number.NaN) / MB,
        engineTrackedMb: metric('MemoryTracking') / MB,
        engineCachesMb: engine.filter((row) => row.metric !== 'MemoryTracking').reduce((sum, row) => sum + Number(row.value), 0) / MB,
      });
    } finally {
      this.busy = false;
    }
  }
}

/** Waits for `done` while tokenwatch runs (test/helpers/wait.ts); errors quote its log's end. */
function until(what: string, child: ChildProcess, logs: () => string, done: () => Promise<boolean> | boolean): Promise<void> {
  return waitForChild(child, logs, done, { timeoutMs: DEADLINE_MS, intervalMs: 500, what });
}

async function detectorRuns(port: number | undefined): Promise<number> {
  return (await scrape(port, ['tokenwatch_detector_run_seconds_count'])).get('tokenwatch_detector_run_seconds_count') ?? 0;
}

async function detectorCount(port: number | undefined): Promise<number> {
  const response = port === undefined ? undefined : await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  const text = response?.ok ? await response.text() : '';
  return new Set(text.match(/^tokenwatch_detector_run_seconds_count\{[^}]*detector="[^"]+"/gm) ?? []).size;
}

/**
 * tick-after-1m's starting point, made once per bench run and copied for each of its runs: a
 * data directory holding the million bench events, stored by `tokenwatch ingest` (no detector
 * ran, so none has a watermark). A `start` on a copy then examines the whole back-fill in its
 * first tick, what a start after an import or a detector outage does, whatever the machine's
 * load (in start-1m the detectors keep up, or not, depending on it).
 */
let backFilled: string | undefined;

async function backFilledDataDir(): Promise<string> {
  if (backFilled) return backFilled;
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-memory-backfill-'));
  const stamp = String(Date.now());
  const child = spawn(CLI, ['ingest'], {
    env: { ...process.env, KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', TOKENWATCH_DATA_DIR: dataDir, TOKENWATCH_TOPIC: BENCH_TOPIC, TOKENWATCH_DLQ_TOPIC: `${BENCH_TOPIC}.dlq`, TOKENWATCH_CONSUMER_GROUP: `bench-memory-backfill-${stamp}`, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  child.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')).length > 1_000_000 && (logs = logs.slice(-100_000)));
  try {
    await until('the back-fill stored', child, () => logs, async () => {
      const [row] = await queryRowsThroughServer<{ n: string }>(dataDir, 'SELECT count() AS n FROM token_requests').catch(() => []);
      return Number(row?.n ?? 0) >= BENCH_EVENTS;
    });
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
  backFilled = dataDir;
  return dataDir;
}

/** How many detectors `start` scheduled, from its log line `detectors scheduled`. */
function scheduledDetectors(logs: string): number | undefined {
  const line = logs.split('\n').find((text) => text.includes('"detectors scheduled"'));
  if (!line) return undefined;
  return (JSON.parse(line) as { detectors?: string[] }).detectors?.length;
}

async function run(scenario: ScenarioName, variant: Variant, round: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-memory-'));
  if (scenario === 'tick-after-1m') cpSync(await backFilledDataDir(), dataDir, { recursive: true });
  const stamp = `${Date.now()}-${round}`;
  const topic = { 'start-1m': BENCH_TOPIC, 'demo-day': `bench.memory.demo.${stamp}`, 'tick-after-1m': `bench.memory.empty.${stamp}` }[scenario];
  const args = scenario === 'demo-day' ? ['demo', '--history-days', '1', '--attack-every', '3'] : ['start'];
  const child = spawn(CLI, args, {
    env: {
      ...process.env,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      TOKENWATCH_DATA_DIR: dataDir,
      TOKENWATCH_TOPIC: topic,
      TOKENWATCH_DLQ_TOPIC: `${topic}.dlq`,
      TOKENWATCH_CONSUMER_GROUP: `bench-memory-${scenario}-${stamp}`,
      // Any free port, read back from the log: a port picked here beforehand could be taken by
      // the query server's own ephemeral port before the ops server binds it (seen once).
      TOKENWATCH_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      ...variant.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  let port: number | undefined;
  const httpPort = () => port;
  child.stderr?.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
    port ??= opsPort(logs);
    if (logs.length > 1_000_000) logs = logs.slice(-100_000);
  });
  const sampler = new Sampler(child, dataDir, httpPort, scenario === 'demo-day' ? 'start-up and back-fill produced' : 'start-up');
  sampler.start();
  try {
    let eventsPerSecond: number | undefined;
    if (scenario === 'start-1m') {
      await until('consuming', child, () => logs, () => logs.includes('ingest worker consuming'));
      sampler.endPhase('ingest');
      const started = performance.now();
      await until('all events stored', child, () => logs, async () => {
        const [row] = await queryRowsThroughServer<{ n: string }>(dataDir, 'SELECT count() AS n FROM token_requests').catch(() => []);
        return Number(row?.n ?? 0) >= BENCH_EVENTS;
      });
      eventsPerSecond = BENCH_EVENTS / ((performance.now() - started) / 1000);
      sampler.endPhase('detector pass');
      const detectors = await detectorCount(httpPort());
      const before = await detectorRuns(httpPort());
      await until('one more run of every detector', child, () => logs, async () => (await detectorRuns(httpPort())) >= before + Math.max(detectors, 1));
      sampler.endPhase('');
    } else if (scenario === 'tick-after-1m') {
      await until('detectors scheduled', child, () => logs, () => scheduledDetectors(logs) !== undefined);
      sampler.endPhase('first detector tick');
      const detectors = scheduledDetectors(logs) ?? 1;
      await until('the first run of every detector', child, () => logs, async () => (await detectorRuns(httpPort())) >= detectors);
      sampler.endPhase('');
    } else {
      await until('the back-fill produced', child, () => logs, () => logs.includes('history back-filled'));
      sampler.endPhase('back-fill consumed');
      await until('the back-fill consumed', child, () => logs, async () => {
        const lag = await scrape(httpPort(), ['tokenwatch_ingest_consumer_lag']);
        return lag.get('tokenwatch_ingest_consumer_lag') === 0;
      });
      sampler.endPhase('three detector ticks');
      const detectors = await detectorCount(httpPort());
      const before = await detectorRuns(httpPort());
      await until('three more detector ticks', child, () => logs, async () => (await detectorRuns(httpPort())) >= before + 3 * Math.max(detectors, 1));
      sampler.endPhase('');
    }
    sampler.stop();
    const peakRssMb = procStatusKb(child.pid as number, 'VmHWM') / 1024;
    const events = await queryRowsThroughServer<{ event: string; value: string }>(
      dataDir,
      "SELECT event, value FROM system.events WHERE event IN ('QueryMemoryLimitExceeded', 'ExternalAggregationWritePart', 'ExternalSortWritePart')",
    );
    const event = (name: string) => Number(events.find((row) => row.event === name)?.value ?? 0);
    const errors = await scrape(httpPort(), ['tokenwatch_detector_run_errors_total', 'tokenwatch_ingest_insert_errors_total']);
    return {
      scenario,
      variant: variant.name,
      peakRssMb,
      phases: sampler.phases,
      highest: sampler.highest,
      heavyQueries: sampler.heavyQueries(5),
      heaviestMerges: sampler.heaviestMerges,
      eventsPerSecond,
      samples: sampler.samples,
      refusedForMemory: event('QueryMemoryLimitExceeded'),
      spilledParts: event('ExternalAggregationWritePart') + event('ExternalSortWritePart'),
      detectorErrors: errors.get('tokenwatch_detector_run_errors_total') ?? 0,
      insertErrors: errors.get('tokenwatch_ingest_insert_errors_total') ?? 0,
    };
  } finally {
    sampler.stop();
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const max = (values: number[]) => {
  const finite = values.filter(Number.isFinite);
  return finite.length ? Math.max(...finite) : Number.NaN;
};
const mb = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en') : '–');
const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** About ten evenly spaced samples: how memory moved over the run. */
function series(run: Run): string {
  const step = Math.max(1, Math.floor(run.samples.length / 10));
  const rows = run.samples.filter((_, index) => index % step === 0 || index === run.samples.length - 1);
  return [
    `${run.scenario} / ${run.variant}: seconds, RSS (anon + file), V8 heap used / total, external, chDB MemoryTracking, chDB caches (MB)`,
    ...rows.map((s) => `  ${s.seconds.toFixed(0).padStart(5)} s  ${mb(s.rssMb).padStart(6)} (${mb(s.anonMb).padStart(4)} + ${mb(s.fileMb).padStart(4)})  ${mb(s.heapUsedMb).padStart(5)} / ${mb(s.heapTotalMb).padStart(5)}  ${mb(s.externalMb).padStart(5)}  ${mb(s.engineTrackedMb).padStart(6)}  ${mb(s.engineCachesMb).padStart(5)}`),
    `  peak (VmHWM) after each phase: ${run.phases.map((p) => `${p.phase} ${mb(p.peakRssMb)} (${p.seconds.toFixed(0)} s)`).join(', ')}`,
    `  highest ${PROC_MS} ms sample: ${mb(run.highest.rssMb)} MB (anon ${mb(run.highest.anonMb)} + file ${mb(run.highest.fileMb)}) at ${run.highest.seconds.toFixed(1)} s, in ${run.highest.phase}`,
    ...run.heavyQueries.map((q) => `  engine query peak ${mb(q.peakMb)} MB in ${q.phase}: ${q.query}`),
    `  engine merges at most ${mb(run.heaviestMerges.mb)} MB at once (${run.heaviestMerges.merges} running) in ${run.heaviestMerges.phase || '–'}; the heaviest: ${run.heaviestMerges.heaviest || '–'}`,
  ].join('\n');
}

const variants = parseVariants(process.env.BENCH_MEMORY_VARIANTS);
if (SCENARIOS.includes('start-1m') || SCENARIOS.includes('tick-after-1m')) await ensureBenchTopic();
const runs: Run[] = [];
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const scenario of SCENARIOS) {
    for (const variant of variants) {
      const result = await run(scenario, variant, round);
      runs.push(result);
      console.error(
        `round ${round}: ${scenario} / ${variant.name}: peak RSS ${mb(result.peakRssMb)} MB${result.eventsPerSecond ? `, ${Math.round(result.eventsPerSecond)} events/s` : ''}, ` +
          `${result.refusedForMemory} queries refused for memory, ${result.spilledParts} parts spilled, ${result.detectorErrors} detector errors, ${result.insertErrors} insert retries`,
      );
      console.error(series(result));
    }
  }
}

if (backFilled) rmSync(backFilled, { recursive: true, force: true });

console.log(`\n${ROUNDS} round(s), variants alternating; medians over rounds of each run's maximum (MB):\n`);
console.log('| scenario | variant | peak RSS (VmHWM) | RSS p50 | V8 heap used | V8 heap total | external | chDB MemoryTracking | chDB caches | events/s | refused for memory / spilled parts / detector errors / insert retries |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const scenario of SCENARIOS) {
  for (const variant of variants) {
    const mine = runs.filter((r) => r.scenario === scenario && r.variant === variant.name);
    const of = (pick: (s: Sample) => number) => median(mine.map((r) => max(r.samples.map(pick))));
    const rate = median(mine.map((r) => r.eventsPerSecond ?? Number.NaN));
    console.log(
      `| ${scenario} | ${variant.name} | ${mb(median(mine.map((r) => r.peakRssMb)))} | ${mb(median(mine.map((r) => median(r.samples.map((s) => s.rssMb)))))} | ` +
        `${mb(of((s) => s.heapUsedMb))} | ${mb(of((s) => s.heapTotalMb))} | ${mb(of((s) => s.externalMb))} | ${mb(of((s) => s.engineTrackedMb))} | ${mb(of((s) => s.engineCachesMb))} | ` +
        `${Number.isFinite(rate) ? Math.round(rate).toLocaleString('en') : '–'} | ` +
        `${mine.map((r) => `${r.refusedForMemory} / ${r.spilledParts} / ${r.detectorErrors} / ${r.insertErrors}`).join('; ')} |`,
    );
  }
}

console.log(`\nWhere the peak was (each run): VmHWM when each phase ended; the highest ${PROC_MS} ms sample of RSS, split into anonymous and file-backed pages; the engine query that held the most memory:\n`);
console.log('| scenario | variant | round | VmHWM after each phase (its length) | highest RSS sample (anon + file) | in phase | heaviest engine query | engine merges at once (how many, phase) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [index, run] of runs.entries()) {
  const round = Math.floor(index / (SCENARIOS.length * variants.length)) + 1;
  const [heaviest] = run.heavyQueries;
  console.log(
    `| ${run.scenario} | ${run.variant} | ${round} | ${run.phases.map((p) => `${p.phase}: ${mb(p.peakRssMb)} (${p.seconds.toFixed(0)} s)`).join('; ')} | ` +
      `${mb(run.highest.rssMb)} (${mb(run.highest.anonMb)} + ${mb(run.highest.fileMb)}) | ${run.highest.phase} | ` +
      `${heaviest ? `${mb(heaviest.peakMb)} MB: \`${heaviest.query.slice(0, 60).replaceAll('|', '\\|')}…\`` : '–'} | ` +
      `${mb(run.heaviestMerges.mb)} MB (${run.heaviestMerges.merges}, ${run.heaviestMerges.phase || '–'}; ${run.heaviestMerges.heaviest || '–'}) |`,
  );
}
