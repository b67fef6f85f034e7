import { writeFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import { renderNative, simulate } from '@tokenwatch/simulator/index';

export interface SimulateCommandOptions {
  days: string;
  clients: string;
  seed: string;
  start?: string;
  format: 'canonical' | 'native';
  attacks: 'all' | 'none';
  attacksPerKind: string;
  labels?: string;
}

const DAY = 86_400_000;
/** Lines per stdout write: one write per line would cost more than generating them. */
const CHUNK_LINES = 2_000;

function positiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new ConfigError(`invalid --${name} ${JSON.stringify(value)}: expected a positive integer`);
  return number;
}

/**
 * `tokenwatch simulate`: simulated token requests as JSON lines on stdout (canonical events, or
 * each IdP's native record), the injected attacks' labels as JSON lines in --labels. Without
 * --start the traffic ends at today's midnight UTC, so only the seed and --start together make
 * a run reproducible.
 */
export async function simulateCommand(options: SimulateCommandOptions): Promise<void> {
  const days = positiveInteger('days', options.days);
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new ConfigError(`invalid --seed ${JSON.stringify(options.seed)}: expected an integer`);
  const start = options.start === undefined ? Math.floor(Date.now() / DAY) * DAY - days * DAY : Date.parse(options.start);
  if (Number.isNaN(start)) throw new ConfigError(`invalid --start ${JSON.stringify(options.start)}: expected an ISO date such as 2026-01-05`);

  let simulation;
  try {
    simulation = simulate({
      seed,
      start,
      days,
      clients: positiveInteger('clients', options.clients),
      attacks: options.attacks,
      attacksPerKind: positiveInteger('attacks-per-kind', options.attacksPerKind),
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
