import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import { DAY_MS } from '@tokenwatch/shared/time';
import { renderNative, simulate } from '@tokenwatch/simulator/index';
import { parseFlags } from '../flags.js';

/** Lines per stdout write: one write per line would cost more than generating them. */
const CHUNK_LINES = 2_000;

const positiveInteger = z.coerce.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer');

export const simulateFlags = z.object({
  days: positiveInteger.max(3_650),
  clients: positiveInteger.max(1_000_000),
  seed: z.coerce.number({ error: 'expected an integer' }).int('expected an integer'),
  start: z
    .string()
    .transform((text) => Date.parse(text))
    .refine((time) => Number.isFinite(time), 'expected an ISO date such as 2026-01-05')
    .optional(),
  format: z.enum(['canonical', 'native']),
  attacks: z.enum(['all', 'none']),
  attacksPerKind: positiveInteger.max(1_000),
  labels: z.string().min(1).optional(),
});

/**
 * `tokenwatch simulate`: simulated token requests as JSON lines on stdout (canonical events, or
 * each IdP's native record), the injected attacks' labels as JSON lines in --labels. Without
 * --start the traffic ends at today's midnight UTC, so only the seed and --start together make
 * a run reproducible.
 */
export async function simulateCommand(flags: unknown): Promise<void> {
  const options = parseFlags(simulateFlags, flags);
  const { days, seed } = options;
  const start = options.start ?? Math.floor(Date.now() / DAY_MS) * DAY_MS - days * DAY_MS;

  let simulation;
  try {
    simulation = simulate({
      seed,
      start,
      days,
      clients: options.clients,
      attacks: options.attacks,
      attacksPerKind: options.attacksPerKind,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(errorMessage(error)); // e.g. too few days or clients for the attacks
  }

  // A closed pipe (`| head`) ends the output quietly; the labels are still written.
  let closed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') closed = true;
    else throw error;
  });
  const drainedOrClosed = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ['drain', 'close', 'error'] as const) process.stdout.off(event, done);
        resolve();
      };
      for (const event of ['drain', 'close', 'error'] as const) process.stdout.once(event, done);
    });
  const native = options.format === 'native';
  let chunk: string[] = [];
  const flush = async () => {
    if (closed || chunk.length === 0) return;
    const text = `${chunk.join('\n')}\n`;
    chunk = [];
    if (!process.stdout.write(text)) await drainedOrClosed();
  };
  for (const event of simulation.events) {
    chunk.push(JSON.stringify(native ? renderNative(event) : event));
    if (chunk.length >= CHUNK_LINES) await flush();
    if (closed) break;
  }
  await flush();

  if (options.labels !== undefined) {
    const text = simulation.labels.map((label) => JSON.stringify(label)).join('\n');
    try {
      await writeFile(options.labels, text === '' ? '' : `${text}\n`);
    } catch (error) {
      throw new ConfigError(`cannot write --labels ${options.labels}: ${errorMessage(error)}`);
    }
  }
}
