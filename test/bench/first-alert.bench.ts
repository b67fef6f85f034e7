/**
 * npm run bench:first-alert — how long a newcomer waits for the first alert of `npm start`.
 *
 * Each round runs `tokenwatch demo` (what `npm start` runs, without npm's own ~0.3 s) as its
 * own process from a fresh data directory and a fresh topic and consumer group, clocks from the
 * spawn to the first alert line on stdout, lets it finish its back-fill (off the clock: a user
 * who watches the first run for a few minutes), stops it with Ctrl-C (SIGINT) as a user would,
 * then runs it again on the same data directory and topic (the second run: nothing left to
 * back-fill) to its first alert. BENCH_ROUNDS (default 3) rounds; medians.
 *
 * What the clock includes: process start, the embedded ClickHouse's start and migrations, the
 * ingest, detector and notifier start-up, the simulator, the producer, the broker round trips,
 * ingest, detector ticks and the notifier. What it does not: `npm install`, the build, and the
 * broker's own start: the bench uses the already running broker at KAFKA_BROKERS (default
 * 127.0.0.1:9092), as the demo does whenever one answers. A cold `npm run kafka:start` adds its
 * own start-up (measure it with `time npm run kafka:start`).
 *
 * Where the time goes comes from the demo's own notes and status lines on stderr (the notes are
 * printed when each phase ends): start-up (spawn to "demo running"), the back-fill (its events
 * and its end), the first attack injected, and the first alert.
 * BENCH_DEMO_ARGS adds flags to both runs (e.g. "--history-days 2"), to compare variants.
 *
 * Between the runs (off the clock) it reads, with `tokenwatch sql` on the stopped first run's
 * data directory, how many stored requests the detectors had not examined yet when it stopped
 * (after the slowest detector's watermark): the backlog the second run starts with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../services/cli/bin/tokenwatch.js', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const EXTRA_ARGS = (process.env.BENCH_DEMO_ARGS ?? '').split(/\s+/).filter((arg) => arg.length > 0);
/** A run that shows no alert in this long has failed (the issue's target is 60 s). */
const GIVE_UP_MS = 600_000;

const ALERT_LINE = /\[(CRITICAL|HIGH|MEDIUM|LOW|INFO)\] \S+ firing/;

interface Run {
  /** Seconds from spawn to each milestone; undefined when it did not happen before the alert. */
  readonly startedS: number | undefined;
  readonly backfilledS: number | undefined;
  readonly injectedS: number | undefined;
  readonly alertS: number;
  /** The first alert line, for the table. */
  readonly alert: string;
  /** Events the back-fill sent and stored by the time of the alert (from the last status line). */
  readonly storedAtAlert: number | undefined;
  /** Everything the demo wrote to stderr (notes and status lines), kept for reading after. */
  readonly stderr: string;
}

async function runDemo(env: Record<string, string>, label: string, { untilBackfilled }: { untilBackfilled: boolean }): Promise<Run> {
  const spawned = performance.now();
  const child = spawn(process.execPath, [CLI, 'demo', ...EXTRA_ARGS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const at = () => (performance.now() - spawned) / 1000;
  let stderr = '';
  let stdout = '';
  let startedS: number | undefined;
  let backfilledS: number | undefined;
  let injectedS: number | undefined;
  let lastStored: number | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    const now = at();
    if (startedS === undefined && stderr.includes('demo running')) startedS = now;
    if (backfilledS === undefined && stderr.includes('history back-filled')) backfilledS = now;
    if (injectedS === undefined && stderr.includes('injected ')) injectedS = now;
    // "back-filling history: 12,345 of about ..." or "| 12,345 requests stored |".
    const stored = [...stderr.slice(-4_000).matchAll(/(?:history: |\| )([\d,]+) (?:of|requests stored)/g)].at(-1)?.[1];
    if (stored !== undefined) lastStored = Number(stored.replaceAll(',', ''));
  });
  const alert = await new Promise<{ line: string; seconds: number; stored: number | undefined }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no alert in ${GIVE_UP_MS / 1000} s; stderr ends: ${stderr.slice(-2_000)}`)), GIVE_UP_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = ALERT_LINE.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolve({ line: stdout.slice(line.index).split('\n')[0] ?? line[0], seconds: at(), stored: lastStored });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label}: demo exited (${code}) before an alert; stderr ends: ${stderr.slice(-2_000)}`));
    });
  });
  if (untilBackfilled) {
    // As a user who watches the first run for a few minutes: the second run then finds the
    // whole history stored. The back-fill is not on the clock.
    await waitFor(
      () => backfilledS !== undefined || !stderr.includes('back-filling') || child.exitCode !== null,
      (over) => over,
      { timeoutMs: GIVE_UP_MS, intervalMs: 500, what: `${label}: the back-fill to finish` },
    );
  }
  await stop(child, label);
  return { startedS, backfilledS, injectedS, alertS: alert.seconds, alert: alert.line.slice(0, 120), storedAtAlert: alert.stored, stderr };
}

async function stop(child: ChildProcess, label: string): Promise<void> {
  child.removeAllListeners('exit');
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${label}: demo exited with ${code} after Ctrl-C`);
}

async function deleteTopics(topics: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-first-alert', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const seconds = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));

/** Stored requests after the slowest and after the fastest detector's watermark, of all stored. */
interface Backlog {
  readonly behindSlowest: number;
  readonly behindFastest: number;
  readonly stored: number;
}

// The detectors' own watermarks: a key with a '/' is a fresh look's mark (engine.ts), and
// 'rollups' / 'rollups:pending' are the rollups' (shared/src/storage/rollups/refresh.ts).
const BACKLOG_QUERY = `WITH (SELECT min(watermark) FROM detector_watermarks FINAL WHERE position(detector, '/') = 0 AND NOT startsWith(detector, 'rollups')) AS slowest,
     (SELECT max(watermark) FROM detector_watermarks FINAL WHERE position(detector, '/') = 0 AND NOT startsWith(detector, 'rollups')) AS fastest
SELECT countIf(ingested_at > slowest) AS behind_slowest, countIf(ingested_at > fastest) AS behind_fastest, count() AS stored
FROM token_requests`;

/** The detectors' backlog in a stopped run's data directory (undefined when it cannot be read). */
async function detectorBacklog(env: Record<string, string>): Promise<Backlog | undefined> {
  const child = spawn(process.execPath, [CLI, 'sql', BACKLOG_QUERY, '--format', 'JSONEachRow'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const row = JSON.parse(stdout.trim()) as Record<string, unknown>;
    return { behindSlowest: Number(row.behind_slowest), behindFastest: Number(row.behind_fastest), stored: Number(row.stored) };
  } catch {
    process.stderr.write(`could not read the detectors' backlog (tokenwatch sql exited ${code}): ${stdout.slice(0, 200)}\n`);
    return undefined;
  }
}

const firsts: Run[] = [];
const backlogs: (Backlog | undefined)[] = [];
const seconds2: Run[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const suffix = `first-alert-${process.pid}-${Date.now().toString(36)}-${round}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenwatch-bench-first-alert-'));
  const topic = `bench.${suffix}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KAFKA_BROKERS: BROKERS,
    TOKENWATCH_TOPIC: topic,
    TOKENWATCH_DLQ_TOPIC: `${topic}.dlq`,
    TOKENWATCH_CONSUMER_GROUP: `bench-${suffix}`,
    TOKENWATCH_DATA_DIR: dataDir,
    TOKENWATCH_HTTP_PORT: '0',
  };
  try {
    const first = await runDemo(env, `round ${round}, first run`, { untilBackfilled: true });
    firsts.push(first);
    backlogs.push(await detectorBacklog(env));
    process.stderr.write(`round ${round} first run: alert after ${first.alertS.toFixed(1)} s: ${first.alert}; its stderr: ${keepLog(round, 'first', first)}\n`);
    const second = await runDemo(env, `round ${round}, second run`, { untilBackfilled: false });
    seconds2.push(second);
    process.stderr.write(`round ${round} second run: alert after ${second.alertS.toFixed(1)} s: ${second.alert}; its stderr: ${keepLog(round, 'second', second)}\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await deleteTopics([topic, `${topic}.dlq`]);
  }
}

const table = [
  `tokenwatch demo ${EXTRA_ARGS.join(' ')}`.trim() + ` against the running broker ${BROKERS}; ${ROUNDS} round(s); seconds from spawn`,
  '',
  '| run | round | start-up done | back-fill done | first attack injected | first alert | requests stored at the alert | first alert |',
  '|---|---|---|---|---|---|---|---|',
  ...firsts.map((run, index) => row('first', index + 1, run)),
  ...seconds2.map((run, index) => row('second', index + 1, run)),
  '',
  ...backlogs.map(
    (backlog, index) =>
      `round ${index + 1}: when the first run stopped, ${backlog ? `${backlog.behindSlowest.toLocaleString('en')} of ${backlog.stored.toLocaleString('en')} stored requests were after the slowest detector's watermark (${backlog.behindFastest.toLocaleString('en')} after the fastest's)` : 'the detectors\' backlog could not be read'}`,
  ),
  '',
  `median time to first alert: first run ${median(firsts.map((run) => run.alertS)).toFixed(1)} s, second run ${median(seconds2.map((run) => run.alertS)).toFixed(1)} s`,
];
process.stdout.write(`${table.join('\n')}\n`);

function keepLog(round: number, kind: string, run: Run): string {
  const path = join(tmpdir(), `tokenwatch-first-alert-${process.pid}-${round}-${kind}.log`);
  writeFileSync(path, run.stderr);
  return path;
}

function row(kind: string, round: number, run: Run): string {
  return `| ${kind} | ${round} | ${seconds(run.startedS)} | ${seconds(run.backfilledS)} | ${seconds(run.injectedS)} | **${run.alertS.toFixed(1)}** | ${run.storedAtAlert?.toLocaleString('en') ?? '–'} | \`${run.alert.replaceAll('|', '\\|')}\` |`;
}
