import { createInterface } from 'node:readline';
import { z } from 'zod';
import { MAX_FILE_BYTES, parseIndicators } from '@tokenwatch/detector/sweep/indicators';
import { SWEEP_OUTPUT_KEYS, sweep, type SweepMatch, type SweepReader } from '@tokenwatch/detector/sweep/sweep';
import { operatorAction } from '@tokenwatch/server/operator';
import { MAX_MATCHES_PER_ACTION } from '@tokenwatch/server/query-server/operator-action';
import { readOnlySql } from '@tokenwatch/server/read-only';
import type { SqlRequest } from '@tokenwatch/server/query-server/read-only-query';
import { groupBy } from '@tokenwatch/detector/group-by';
import { parseFlags, timeFlag } from '../flags.js';
import { readBoundedText } from '../lines.js';
import type { CommandContext } from '../run.js';

const sweepFlags = (now: number) =>
  z
    .object({
      from: timeFlag(now).optional(),
      to: timeFlag(now).optional(),
      json: z.boolean().optional(),
      alert: z.boolean().optional(),
    })
    .refine((flags) => (flags.from ?? 0) < (flags.to ?? now), { path: ['from'], message: 'must be before --to' });

/** An ioc_match alert lists at most this many of a client's matches (its evidence bound). */
const MAX_MATCHES_PER_CLIENT = 1_000;

/**
 * `tokenwatch sweep <file|-> [--from <time>] [--to <time>] [--json] [--alert]`: which clients
 * requested tokens from the indicators of a threat report (services/detector/src/sweep/).
 * Reads run as read-only queries (through the running process when it holds the embedded data
 * directory); --alert stores one ioc_match alert per client through the same route as
 * `tokenwatch watch`.
 */
export async function sweepCommand({ settings, logger }: CommandContext, file: string, flags: unknown): Promise<void> {
  const now = Date.now();
  const options = parseFlags(sweepFlags(now), flags);
  const indicators = parseIndicators(await readBoundedText(file, MAX_FILE_BYTES));
  const range = { from: options.from ?? 0, to: options.to ?? now };
  const read: SweepReader = async (query, params) => {
    const rows: unknown[] = [];
    const result = await readOnlySql(settings, { query, format: 'JSONEachRow', params: params as SqlRequest['params'] });
    for await (const line of createInterface({ input: result, crlfDelay: Infinity })) if (line.trim() !== '') rows.push(JSON.parse(line));
    return rows;
  };
  const matches = await sweep(read, indicators, range);
  for (const match of matches) process.stdout.write(options.json ? `${JSON.stringify(outputOf(match))}\n` : `${renderMatch(match)}\n`);
  const clients = groupBy(matches, (match) => `${match.tenant}\u0000${match.client_id}`);
  let summary = `${indicators.count} indicators, ${matches.length} matches, ${clients.size} clients, from ${new Date(range.from).toISOString()} to ${new Date(range.to).toISOString()}`;
  if (options.alert && matches.length > 0) {
    let raised = 0;
    let updated = 0;
    for (const batch of batches([...clients.values()].map((clientMatches) => clientMatches.slice(0, MAX_MATCHES_PER_CLIENT)))) {
      const result = await operatorAction(settings, logger, { action: 'ioc_alerts', matches: batch, from: range.from, to: range.to, indicators_swept: indicators.count });
      if (!('raised' in result) || 'watch' in result) throw new Error('sweep --alert: unexpected answer');
      raised += result.raised;
      updated += result.updated;
    }
    summary += `; ioc_match alerts: ${raised} raised, ${updated} updated`;
  }
  process.stderr.write(`${summary}\n`);
}

/** Whole clients' matches, at most MAX_MATCHES_PER_ACTION per request (a client never split). */
function* batches(clients: readonly SweepMatch[][]): Generator<SweepMatch[]> {
  let batch: SweepMatch[] = [];
  for (const clientMatches of clients) {
    if (batch.length + clientMatches.length > MAX_MATCHES_PER_ACTION) {
      yield batch;
      batch = [];
    }
    batch.push(...clientMatches);
  }
  if (batch.length > 0) yield batch;
}

function outputOf(match: SweepMatch) {
  const iso = { first_seen: new Date(match.first_seen).toISOString(), last_seen: new Date(match.last_seen).toISOString() };
  return Object.fromEntries(SWEEP_OUTPUT_KEYS.map((key) => [key, key in iso ? iso[key as keyof typeof iso] : match[key]]));
}

function renderMatch(match: SweepMatch): string {
  return (
    `${match.tenant}  ${match.client_id}  ${match.indicator}  ${match.requests} requests (${match.successes} succeeded)  ` +
    `first ${new Date(match.first_seen).toISOString()}  last ${new Date(match.last_seen).toISOString()}`
  );
}
