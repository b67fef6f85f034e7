/**
 * npm run bench:ingest — sustained ingest throughput and peak RSS for 1,000,000 events, with
 * ClickHouse's own Kafka engine on the same topic, machine and table as the baseline.
 * Rounds alternate (tokenwatch, baseline, tokenwatch, ...) so both see the same noise;
 * medians and their ratio are what docs/benchmarks.md quotes. BENCH_ROUNDS (default 3).
 *
 * tokenwatch: `tokenwatch ingest` as its own process with a fresh data directory and group;
 * the clock starts when it logs that it is consuming and stops when token_requests holds
 * every event (polled through its query server every 200 ms).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { BENCH_EVENTS, BENCH_TOPIC, ensureBenchTopic } from './bench-events.js';

const CLI = fileURLToPath(new URL('../../services/cli/bin/tokenwatch.js', import.meta.url));
const BASELINE = fileURLToPath(new URL('./kafka-engine-baseline.ts', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Run {
  events: number;
  seconds: number;
  peakRssMb: number;
}

async function runTokenwatch(round: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-'));
  const child = spawn(process.execPath, [CLI, 'ingest'], {
    env: {
      ...process.env,
      TOKENWATCH_DATA_DIR: dataDir,
      TOKENWATCH_TOPIC: BENCH_TOPIC,
      TOKENWATCH_CONSUMER_GROUP: `bench-tokenwatch-${Date.now()}-${round}`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let started = 0;
  let logs = '';
  child.stderr.on('data', (chunk: Buffer) => {
    logs += chunk.toString('utf8');
    if (!started && logs.includes('ingest worker consuming')) started = performance.now();
  });
  let stored = 0;
  const deadline = Date.now() + 600_000;
  while (stored < BENCH_EVENTS) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tokenwatch ingest did not finish: ${logs.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const server = readDiscovery(dataDir);
    if (!started || !server) continue;
    const text = await streamText(await queryThroughServer(server, { query: 'SELECT count() AS n FROM token_requests', format: 'JSONEachRow' }));
    stored = Number((JSON.parse(text) as { n: string }).n);
  }
  const seconds = (performance.now() - started) / 1000;
  const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
  const server = readDiscovery(dataDir);
  const unique = server
    ? Number((JSON.parse(await streamText(await queryThroughServer(server, { query: 'SELECT count() AS n FROM token_requests FINAL', format: 'JSONEachRow' }))) as { n: string }).n)
    : -1;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  if (unique !== BENCH_EVENTS) throw new Error(`tokenwatch stored ${unique} unique events, expected ${BENCH_EVENTS}`);
  return { events: stored, seconds, peakRssMb: Math.round(peakRssKb / 1024) };
}

async function runBaseline(round: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-baseline-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', BASELINE, dataDir, BENCH_TOPIC, `bench-kafka-engine-${Date.now()}-${round}`, String(BENCH_EVENTS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`baseline exited with ${String(code)}`);
  const run = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Run;
  if (run.events < BENCH_EVENTS) throw new Error(`baseline stored only ${run.events} events`);
  return run;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

await ensureBenchTopic();
const tokenwatch: Run[] = [];
const baseline: Run[] = [];
for (let round = 1; round <= ROUNDS; round += 1) {
  tokenwatch.push(await runTokenwatch(round));
  baseline.push(await runBaseline(round));
  const [t, b] = [tokenwatch.at(-1) as Run, baseline.at(-1) as Run];
  console.error(
    `round ${round}: tokenwatch ${Math.round(t.events / t.seconds)} events/s (${t.peakRssMb} MB peak RSS), ` +
      `Kafka engine ${Math.round(b.events / b.seconds)} events/s (${b.peakRssMb} MB)`,
  );
}
const rate = (runs: Run[]) => median(runs.map((run) => run.events / run.seconds));
const twRate = rate(tokenwatch);
const baseRate = rate(baseline);
console.log(`\n${BENCH_EVENTS.toLocaleString('en')} events, topic ${BENCH_TOPIC}, ${ROUNDS} alternating rounds, medians:\n`);
console.log('| pipeline | events/s (median) | runs (events/s) | peak RSS MB (median) |');
console.log('|---|---|---|---|');
for (const [name, runs, value] of [['tokenwatch ingest', tokenwatch, twRate], ['ClickHouse Kafka engine (chDB)', baseline, baseRate]] as const) {
  console.log(`| ${name} | ${Math.round(value)} | ${runs.map((run) => Math.round(run.events / run.seconds)).join(', ')} | ${median(runs.map((run) => run.peakRssMb))} |`);
}
console.log(`\nratio tokenwatch / Kafka engine: ${(twRate / baseRate).toFixed(2)}`);
