/**
 * npm run bench:decode — the ingest worker's JavaScript per event, stage by stage, without
 * Kafka or ClickHouse: CPU microseconds per event (process.cpuUsage of this one thread, so a
 * shared machine inflates it less than a rate) for each step of the write path over the
 * bench:ingest events. BENCH_DECODE_EVENTS (default 100,000), BENCH_ROUNDS (default 5, median).
 * Each stage is timed alone on the previous stage's output; `decodeMessage` is the whole chain.
 */
import { tokenRequestSchema } from '@tokenwatch/shared/events/token-request';
import { redactStrings } from '@tokenwatch/shared/redact';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { openEnricher } from '@tokenwatch/ingest/enrich/enricher';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { classifyBatch } from '@tokenwatch/ingest/classify';
import { dedupToken } from '@tokenwatch/ingest/write-batch';
import { encodeTokenRequestRow } from '@tokenwatch/shared/storage/token-request-row';
import { benchEvent } from './bench-events.js';

const EVENTS = Number(process.env.BENCH_DECODE_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 10_000;

const enricher = await openEnricher();
const messages = Array.from({ length: EVENTS }, (_, i) => Buffer.from(benchEvent(i)));
const decode = (value: Buffer) => decodeMessage(value, { adapters: FORMATS, format: 'auto', enrich: enricher.enrich });

const texts = messages.map((message) => message.toString('utf8'));
const parsed = texts.map((text) => JSON.parse(text) as unknown);
const validated = parsed.map((value) => tokenRequestSchema.parse(value));
const redacted = validated.map((event) => redactStrings(event));
const enriched = redacted.map((event) => enricher.enrich(event));
const lines = enriched.map((event) => encodeTokenRequestRow(event));

/** Per batch of BATCH, as the worker runs them. */
const batches = <T>(items: readonly T[]): T[][] => Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH));

const stages: Array<[string, () => unknown]> = [
  ['Buffer to string', () => messages.map((message) => message.toString('utf8'))],
  ['JSON.parse', () => texts.map((text) => JSON.parse(text) as unknown)],
  ['zod (tokenRequestSchema)', () => parsed.map((value) => tokenRequestSchema.safeParse(value))],
  ['redaction (redactStrings)', () => validated.map((event) => redactStrings(event))],
  ['enrichment (enrich)', () => redacted.map((event) => enricher.enrich(event))],
  ['row encoding (encodeTokenRequestRow, TabSeparated)', () => enriched.map((event) => encodeTokenRequestRow(event))],
  ['JSON.stringify (the encoding before migration 0015, for comparison)', () => enriched.map((event) => JSON.stringify(event))],
  ['dedup token (sha256 of the lines)', () => batches(lines).map((batch) => dedupToken('bench', batch))],
  ['insert body (join)', () => batches(lines).map((batch) => `${batch.join('\n')}\n`)],
  ['decodeMessage (the whole decode chain)', () => messages.map(decode)],
  ['classifyBatch (decode chain + classification)', () => batches(messages).map((batch) => classifyBatch(batch, decode))],
];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const results = new Map<string, number[]>(stages.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [name, run] of stages) {
    const before = process.cpuUsage();
    run();
    const used = process.cpuUsage(before);
    results.get(name)?.push((used.user + used.system) / EVENTS);
  }
}
console.log(`\n${EVENTS.toLocaleString('en')} bench:ingest events, ${ROUNDS} rounds, median CPU µs per event:\n`);
console.log('| stage | CPU µs/event |\n|---|---|');
for (const [name, values] of results) console.log(`| ${name} | ${median(values).toFixed(2)} |`);
