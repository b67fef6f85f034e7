import { createHash } from 'node:crypto';
import type { IHeaders, Message, Producer } from 'kafkajs';
import { DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import { chunkByBytes, isMessageTooLarge, MAX_REQUEST_BYTES, RECORD_OVERHEAD_BYTES } from '@tokenwatch/shared/kafka/requests';
import { redactBytes } from '@tokenwatch/shared/redact';

/** A message that could not be processed, with where it came from and why. */
export interface DeadLetter {
  readonly value: Buffer | null;
  readonly key: Buffer | null;
  readonly reason: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string };
}

/**
 * Header names on dead-lettered messages. Operators replay or inspect the topic with
 * these, so they are part of the contract (README, "Dead-letter topic").
 */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  topic: 'dlq-topic',
  partition: 'dlq-partition',
  offset: 'dlq-offset',
  timestamp: 'dlq-timestamp',
  redacted: 'dlq-redacted',
  /** Set on the summary that replaces a dead letter too large for the topic. */
  oversized: 'dlq-oversized',
} as const;

/** Bytes of the (redacted) original kept in an oversized letter's summary. */
const SUMMARY_PREFIX_BYTES = 1024;
const MAX_REASON_CHARS = 1024;

interface Outgoing {
  readonly letter: DeadLetter;
  readonly message: Message;
  readonly bytes: number;
}

/**
 * Publishes dead letters with the original bytes (secrets redacted) and the reason in
 * headers. `send` resolves only once the broker acknowledged every message (acks=all), so
 * the consumer may commit the source offsets afterwards. Requests are bounded in bytes
 * (MAX_REQUEST_BYTES); a letter too large for the topic, whatever its limit, is replaced by a
 * bounded summary (reason, origin, size, sha256, a redacted prefix) instead of halting ingest.
 * A broker that cannot be reached is a DependencyError: the consumer pauses and retries.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly maxRequestBytes = MAX_REQUEST_BYTES,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = new Date().toISOString();
    const outgoing = letters.map((letter) => {
      const whole = toMessage(letter, now);
      return whole.bytes <= this.maxRequestBytes ? whole : oversizedSummary(letter, now);
    });
    // A letter over maxRequestBytes was replaced by its summary above, so each request fits.
    for (const request of chunkByBytes(outgoing, (item) => item.bytes, { maxBytes: this.maxRequestBytes })) await this.produce(request, now);
  }

  private async produce(request: readonly Outgoing[], now: string): Promise<void> {
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: request.map(({ message }) => message) });
    } catch (error) {
      if (isMessageTooLarge(error)) {
        // The topic's limit is below ours: halve until each letter goes alone, then summarise it.
        if (request.length > 1) {
          const middle = Math.ceil(request.length / 2);
          await this.produce(request.slice(0, middle), now);
          await this.produce(request.slice(middle), now);
          return;
        }
        const [single] = request;
        if (single && single.message.headers?.[DLQ_HEADERS.oversized] === undefined) {
          await this.produce([oversizedSummary(single.letter, now)], now);
          return;
        }
      }
      throw new DependencyError(`cannot publish to the dead-letter topic ${this.topic}: ${errorMessage(error)}`);
    }
  }
}

function toMessage(letter: DeadLetter, now: string): Outgoing {
  const redacted = letter.value ? redactBytes(letter.value) : { bytes: null, changed: false };
  const headers = originHeaders(letter, now);
  if (redacted.changed) headers[DLQ_HEADERS.redacted] = 'true';
  const message: Message = { key: letter.key, value: redacted.bytes };
  message.headers = headers;
  return { letter, message, bytes: sizeOf(message) };
}

/**
 * What stands in for a dead letter too large for the topic: the reason and origin (also in the
 * headers, as for every letter), the original size and sha256 (to find it in the source topic),
 * and the first SUMMARY_PREFIX_BYTES of the redacted original. Redacted before it is cut, so no
 * secret survives by being cut in half. The key is dropped: it may be as large as the value.
 */
export function oversizedSummary(letter: DeadLetter, now: string): Outgoing {
  const original = letter.value ?? Buffer.alloc(0);
  const redacted = letter.value ? redactBytes(letter.value) : { bytes: Buffer.alloc(0), changed: false };
  const prefix = utf8Prefix(redacted.bytes ?? Buffer.alloc(0), SUMMARY_PREFIX_BYTES);
  const summary = {
    oversized: true,
    reason: bounded(letter.reason),
    source: letter.source,
    bytes: original.length,
    sha256: createHash('sha256').update(original).digest('hex'),
    prefix,
  };
  const headers = originHeaders(letter, now);
  headers[DLQ_HEADERS.oversized] = String(original.length);
  if (redacted.changed) headers[DLQ_HEADERS.redacted] = 'true';
  const message: Message = { key: null, value: Buffer.from(JSON.stringify(summary), 'utf8') };
  message.headers = headers;
  return { letter, message, bytes: sizeOf(message) };
}

function originHeaders(letter: DeadLetter, now: string): IHeaders {
  return {
    [DLQ_HEADERS.reason]: bounded(letter.reason),
    [DLQ_HEADERS.topic]: letter.source.topic,
    [DLQ_HEADERS.partition]: String(letter.source.partition),
    [DLQ_HEADERS.offset]: letter.source.offset,
    [DLQ_HEADERS.timestamp]: now,
  };
}

function sizeOf(message: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name) + (Array.isArray(value) ? value.reduce((sum, v) => sum + byteLength(v), 0) : byteLength(value));
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

function bounded(reason: string): string {
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
}

/** The first `maxBytes` of UTF-8 text, never cutting a character in two. */
function utf8Prefix(bytes: Buffer, maxBytes: number): string {
  if (bytes.length <= maxBytes) return bytes.toString('utf8');
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}
