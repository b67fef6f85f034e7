/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. bench:ingest with BENCH_CPU_PROF=<dir>)
 * by stage of the ingest path and by function: self time, as a share of the main thread's
 * samples from the first batch on. Prints two markdown tables.
 *   tsx test/bench/cpu-profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topText = '25'] = process.argv.slice(2) as [string, string?];
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
// Start-up (module loading, the enrichment databases) happens before the benchmark's clock
// starts: samples count from the first one inside decode, i.e. the first batch.
const firstBatch = profile.samples.findIndex((id) => byId.get(id)?.callFrame.url.includes('/ingest/dist/decode'));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, index) => {
  if (index >= firstBatch) selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);

/** The stage a frame belongs to, from where its code lives (first match wins). */
const STAGES: Array<[string, (frame: ProfileNode['callFrame']) => boolean]> = [
  ['idle (waiting: chDB, Kafka)', (frame) => frame.functionName === '(idle)'],
  ['garbage collection', (frame) => frame.functionName === '(garbage collector)'],
  ['kafkajs (fetch, decode of Kafka batches)', (frame) => frame.url.includes('/kafkajs/')],
  ['zod validation', (frame) => frame.url.includes('/zod/')],
  ['@clickhouse/client + chdb binding', (frame) => frame.url.includes('/@clickhouse/') || frame.url.includes('/chdb/')],
  ['format adapters (services/ingest/src/formats)', (frame) => frame.url.includes('/ingest/dist/formats/')],
  ['enrichment (services/ingest/src/enrich)', (frame) => frame.url.includes('/ingest/dist/enrich/')],
  ['redaction (shared/src/redact)', (frame) => frame.url.includes('/shared/dist/redact')],
  ['decode (decode.ts)', (frame) => frame.url.includes('/ingest/dist/decode')],
  ['classify / write-batch / store', (frame) => /\/ingest\/dist\/(classify|write-batch|store)\./.test(frame.url)],
  ['batching consumer / pipeline', (frame) => /\/ingest\/dist\/(batching-consumer|pipeline)\./.test(frame.url)],
  ['other tokenwatch code', (frame) => frame.url.includes('/dist/') && !frame.url.includes('node_modules')],
  ['other dependencies', (frame) => frame.url.includes('node_modules')],
  ['Node internals (streams, buffers, crypto)', (frame) => frame.url.startsWith('node:')],
  ['native / builtins (JSON.parse, JSON.stringify, ...)', () => true],
];

const stageOf = (frame: ProfileNode['callFrame']) => (STAGES.find(([, matches]) => matches(frame)) as [string, unknown])[0];
const stages = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  stages.set(stageOf(frame), (stages.get(stageOf(frame)) ?? 0) + micros);
  const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '';
  const name = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  functions.set(name, (functions.get(name) ?? 0) + micros);
}
const share = (micros: number) => `${((100 * micros) / total).toFixed(1)}%`;
const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
console.log(`${file}: ${(total / 1e6).toFixed(1)} s of main-thread samples\n`);
console.log('| stage (self time) | share |\n|---|---|');
for (const [stage, micros] of sorted(stages)) console.log(`| ${stage} | ${share(micros)} |`);
console.log('\n| function (self time) | share |\n|---|---|');
for (const [name, micros] of sorted(functions).slice(0, Number(topText))) console.log(`| ${name.replaceAll('|', '\\|')} | ${share(micros)} |`);
