import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Message, Producer } from 'kafkajs';
import { ConfigError, DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import { chunkByBytes, isMessageTooLarge, MAX_REQUEST_BYTES, RECORD_OVERHEAD_BYTES } from '@tokenwatch/shared/kafka/requests';
import type { Logger } from '@tokenwatch/shared/log';
import type { FollowMetrics } from '@tokenwatch/shared/metrics';
import { DeadLetterPublisher, type DeadLetter } from '../dead-letter.js';
import { MAX_MESSAGE_BYTES } from '../decode.js';
import { LineSplitter, type SplitLine } from './lines.js';
import { nextStep, sameFile, startPosition, type FileIdentity, type FileState, type SavedPosition, type Start } from './position.js';
import { loadPosition, savePosition } from './state-file.js';

/** Bytes read per read(): memory holds one of these plus at most one unfinished line. */
const READ_CHUNK_BYTES = 256 * 1024;
const RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export interface FollowOptions {
  /** The followed path; followed by name, like `tail -F`. */
  readonly file: string;
  readonly statePath: string;
  /** On the first run (no state file): start at the end instead of the beginning. */
  readonly fromEnd: boolean;
  readonly topic: string;
  readonly deadLetterTopic: string;
  /** Connected by the caller, who also disconnects it. */
  readonly producer: Producer;
  readonly logger: Logger;
  readonly metrics: FollowMetrics;
  /** Stops following: what was read is published and its position saved first. */
  readonly signal: AbortSignal;
  /** Longest wait between two looks at the file; fs.watch events wake it sooner. */
  readonly pollIntervalMs: number;
  /** Longer lines are dead-lettered (their first maxLineBytes); the worker's message limit by default. */
  readonly maxLineBytes?: number;
  /**
   * Told each time a file is opened, with the offset reading starts at (its position saved): an
   * in-process caller that makes the lines (the Keycloak demo) starts once the follower is there.
   */
  readonly onFollowing?: (position: number) => void;
}

export interface FollowStats {
  published: number;
  deadLettered: number;
  rotations: number;
  truncations: number;
  /** Acknowledged offset in the file followed last (what the state file says). */
  position: number;
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly identity: FileIdentity;
}

/**
 * `tokenwatch produce --follow`: publishes the lines appended to a file, as `tail -F` would
 * print them, until `signal` aborts.
 *
 * Guarantees:
 * - At least once: the state file (`savePosition`, atomic) moves only after Kafka acknowledged
 *   every line before the new position (acks=all), so a crash or restart re-publishes at most
 *   the lines of one read chunk; the event_id deduplicates them downstream.
 * - Only whole lines: a line is published once its newline was written; an unfinished last
 *   line waits, and its start is the saved position. When the file will not grow any more
 *   (rotated away, or truncated) its unfinished last line is published as it is.
 * - Rotation (the path names a new file): the old file is read to its end, then the new one
 *   from 0. Truncation (the file is shorter than what was read): from 0 again. Truncation that
 *   regrows the file past the read offset between two looks goes unnoticed, as with `tail -F`.
 * - Bounded memory: one read chunk plus one line of at most maxLineBytes. A longer line is
 *   dead-lettered with its first maxLineBytes and the reason; so is a line Kafka refuses as
 *   too large for the topic. Nothing is dropped silently.
 * - Kafka down: sends are retried with back-off and the position waits; a stop meanwhile ends
 *   with a DependencyError (the unacknowledged lines are read again on the next start).
 * - A stop (`signal`) publishes the lines of the chunk being read, saves the position and
 *   returns; an unfinished last line stays for the next start.
 */
export async function followFile(options: FollowOptions): Promise<FollowStats> {
  return new Follower(options).run();
}

class Follower {
  private readonly stats: FollowStats = { published: 0, deadLettered: 0, rotations: 0, truncations: 0, position: 0 };
  private readonly deadLetters: DeadLetterPublisher;
  private readonly maxLineBytes: number;
  private readonly waker = new Waker();
  private current: OpenFile | undefined;
  private splitter: LineSplitter;
  private saved: SavedPosition | undefined;

  constructor(private readonly options: FollowOptions) {
    this.deadLetters = new DeadLetterPublisher(options.producer, options.deadLetterTopic);
    this.maxLineBytes = options.maxLineBytes ?? MAX_MESSAGE_BYTES;
    this.splitter = new LineSplitter(this.maxLineBytes, 0);
  }

  async run(): Promise<FollowStats> {
    const { file, statePath, signal, logger } = this.options;
    const directory = await stat(dirname(file)).catch(() => undefined);
    if (!directory?.isDirectory()) throw new ConfigError(`cannot follow ${file}: its directory ${dirname(file)} does not exist`);
    this.saved = await loadPosition(statePath, file);
    const watcher = this.watchDirectory();
    const onAbort = () => this.waker.wake();
    signal.addEventListener('abort', onAbort);
    try {
      await this.openFirst();
      while (!signal.aborted) {
        if (this.current === undefined) {
          await this.openNew();
          if (this.current === undefined) await this.waker.wait(this.options.pollIntervalMs);
          continue;
        }
        await this.drain();
        if (signal.aborted) break;
        const step = nextStep(this.splitter.readOffset, await this.openState(), await identityAt(file));
        if (step === 'wait') await this.waker.wait(this.options.pollIntervalMs);
        else if (step === 'truncated') await this.restartTruncated();
        else await this.switchRotated();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      watcher?.close();
      await this.current?.handle.close();
    }
    logger.info({ file, ...this.stats }, 'stopped following');
    return { ...this.stats };
  }

  /** The first file: at the saved position, or the beginning (or end) of a file new to us. */
  private async openFirst(): Promise<void> {
    const opened = await openFile(this.options.file);
    if (opened === undefined) {
      this.options.logger.warn({ file: this.options.file }, 'waiting for the followed file to appear');
      return;
    }
    await this.adopt(opened, startPosition(this.saved, opened.state, this.options.fromEnd));
  }

  /** A file appeared at the path (after a rotation, or one that did not exist yet): from 0. */
  private async openNew(): Promise<void> {
    const opened = await openFile(this.options.file);
    if (opened === undefined) return;
    // Still the first file if none was ever opened: the saved position may be in it.
    const start: Start = this.saved === undefined || this.stats.rotations > 0 ? { position: 0, reason: 'beginning' } : startPosition(this.saved, opened.state, false);
    await this.adopt(opened, start);
  }

  private async adopt(opened: OpenFile & { state: FileState }, start: Start): Promise<void> {
    this.current = { handle: opened.handle, identity: opened.identity };
    this.splitter = new LineSplitter(this.maxLineBytes, start.position);
    const level = start.reason === 'truncated_while_stopped' || start.reason === 'replaced_while_stopped' ? 'warn' : 'info';
    this.options.logger[level]({ file: this.options.file, position: start.position, reason: start.reason }, 'following file');
    await this.save();
    this.options.onFollowing?.(start.position);
  }

  private async openState(): Promise<FileState> {
    const current = this.current as OpenFile;
    const { size } = await current.handle.stat();
    return { ...current.identity, size };
  }

  /** Reads the open file from the read offset to its end, publishing and saving chunk by chunk. */
  private async drain(): Promise<void> {
    const { handle } = this.current as OpenFile;
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.splitter.readOffset);
      if (bytesRead === 0) return;
      await this.publish(this.splitter.push(buffer.subarray(0, bytesRead)));
      await this.save();
      if (this.options.signal.aborted) return;
    }
  }

  private async restartTruncated(): Promise<void> {
    this.stats.truncations += 1;
    this.options.metrics.truncations.inc();
    this.options.logger.warn({ file: this.options.file, readOffset: this.splitter.readOffset }, 'followed file was truncated: reading it again from the beginning');
    await this.publishLast();
    this.splitter.restartAt(0);
    await this.save();
  }

  private async switchRotated(): Promise<void> {
    // Written between the last read and the look at the path: still the old file's.
    await this.drain();
    if (this.options.signal.aborted) return;
    await this.publishLast();
    this.stats.rotations += 1;
    this.options.metrics.rotations.inc();
    this.options.logger.info({ file: this.options.file, readOffset: this.splitter.readOffset }, 'followed file was rotated: read the old one to its end, following the new one');
    await this.current?.handle.close();
    this.current = undefined;
    await this.openNew();
  }

  /** The unfinished last line of a file that will not grow any more. */
  private async publishLast(): Promise<void> {
    const last = this.splitter.finish();
    if (last) await this.publish([last]);
  }

  private async save(): Promise<void> {
    if (this.current === undefined) return;
    const position: SavedPosition = { ...this.current.identity, position: this.splitter.resumeOffset };
    const unchanged = this.saved !== undefined && sameFile(this.saved, position) && this.saved.position === position.position;
    if (!unchanged) await savePosition(this.options.statePath, this.options.file, position);
    this.saved = position;
    this.stats.position = position.position;
    this.options.metrics.position.set(position.position);
  }

  /** Lines to the topic and oversized ones to the dead-letter topic; resolves once Kafka acknowledged all. */
  private async publish(lines: readonly SplitLine[]): Promise<void> {
    const letters: DeadLetter[] = [];
    const messages: Array<{ line: SplitLine; message: Message & { value: Buffer } }> = [];
    for (const line of lines) {
      if (line.kind === 'line') messages.push({ line, message: { value: line.bytes } });
      else letters.push(this.letter(line.start, line.prefix, `line is ${line.length} bytes, over the ${this.maxLineBytes} a line may have (the first ${line.prefix.length} kept)`));
    }
    const bytesOf = (item: (typeof messages)[number]) => item.message.value.length + RECORD_OVERHEAD_BYTES;
    for (const request of chunkByBytes(messages, bytesOf, { maxBytes: MAX_REQUEST_BYTES })) {
      letters.push(...(await this.send(request)));
    }
    if (letters.length > 0) {
      await this.retrying('the dead-letter topic', () => this.deadLetters.send(letters));
      this.stats.deadLettered += letters.length;
      this.options.metrics.linesDeadLettered.inc(letters.length);
      this.options.logger.warn({ file: this.options.file, lines: letters.length, reason: letters[0]?.reason }, 'dead-lettered lines of the followed file');
    }
  }

  /**
   * Sends one request; returns the dead letters of lines Kafka refused as too large for the
   * topic (halving the request until a refused line goes alone).
   */
  private async send(request: ReadonlyArray<{ line: SplitLine; message: Message & { value: Buffer } }>): Promise<DeadLetter[]> {
    try {
      await this.retrying(`topic ${this.options.topic}`, () => this.options.producer.send({ topic: this.options.topic, acks: -1, messages: request.map(({ message }) => message) }), isMessageTooLarge);
      this.stats.published += request.length;
      this.options.metrics.linesPublished.inc(request.length);
      return [];
    } catch (error) {
      if (!isMessageTooLarge(error)) throw error;
      if (request.length > 1) {
        const middle = Math.ceil(request.length / 2);
        return [...(await this.send(request.slice(0, middle))), ...(await this.send(request.slice(middle)))];
      }
      const [single] = request;
      if (single === undefined) return [];
      return [this.letter(single.line.start, single.message.value, `Kafka refused the line as too large for topic ${this.options.topic} (${single.message.value.length} bytes, over its max.message.bytes)`)];
    }
  }

  private letter(offset: number, value: Buffer, reason: string): DeadLetter {
    // Not from a topic: the file stands in for the topic, -1 for the partition, the byte offset for the offset.
    return { value, key: null, reason, source: { topic: `file:${this.options.file}`, partition: -1, offset: String(offset) } };
  }

  /**
   * Runs `attempt` until Kafka acknowledges, backing off after each failure; errors that
   * `final` accepts are thrown at once (retrying cannot fix them). A stop while retrying
   * throws: the lines were not acknowledged, so the position stays before them.
   */
  private async retrying(what: string, attempt: () => Promise<unknown>, final: (error: unknown) => boolean = () => false): Promise<void> {
    let backoff = RETRY_MS;
    for (;;) {
      try {
        await attempt();
        return;
      } catch (error) {
        if (final(error)) throw error;
        this.options.metrics.publishErrors.inc();
        if (this.options.signal.aborted) throw new DependencyError(`stopped before Kafka acknowledged lines of ${this.options.file} (${errorMessage(error)}); they are published on the next start`);
        this.options.logger.warn({ err: errorMessage(error), retryInMs: backoff }, `cannot publish to ${what}; retrying`);
        await this.waker.wait(backoff);
        backoff = Math.min(backoff * 2, MAX_RETRY_MS);
      }
    }
  }

  /** fs.watch on the directory (a watch on the file would stay on the old one after a rotation): a hint only, polling is the fallback. */
  private watchDirectory(): FSWatcher | undefined {
    const name = basename(this.options.file);
    try {
      const watcher = watch(dirname(this.options.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.waker.wake();
      });
      watcher.on('error', () => watcher.close());
      return watcher;
    } catch (error) {
      this.options.logger.info({ err: errorMessage(error) }, 'cannot watch the followed file\'s directory; polling only');
      return undefined;
    }
  }
}

/** The file at `path` opened for reading, or undefined when there is none (yet). */
async function openFile(path: string): Promise<(OpenFile & { state: FileState }) | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  const stats = await handle.stat({ bigint: true });
  if (!stats.isFile()) {
    await handle.close();
    throw new ConfigError(`cannot follow ${path}: not a regular file`);
  }
  const identity = { dev: String(stats.dev), ino: String(stats.ino) };
  return { handle, identity, state: { ...identity, size: Number(stats.size) } };
}

async function identityAt(path: string): Promise<FileIdentity | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    return { dev: String(stats.dev), ino: String(stats.ino) };
  } catch {
    return undefined;
  }
}

/** A wait that a watch event or a stop cuts short. */
class Waker {
  private pending: (() => void) | undefined;
  /** Set by a wake-up that came while no one waited: the next wait returns at once. */
  private woken = false;

  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending = done;
    });
  }

  wake(): void {
    if (this.pending) this.pending();
    else this.woken = true;
  }
}
