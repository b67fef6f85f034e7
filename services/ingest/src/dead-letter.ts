import type { IHeaders, Producer } from 'kafkajs';
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
} as const;

/**
 * Publishes dead letters with the original bytes (secrets redacted) and the reason in
 * headers. `send` resolves only once the broker acknowledged every message (acks=all), so
 * the consumer may commit the source offsets afterwards.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = new Date().toISOString();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((letter) => {
        const redacted = letter.value ? redactBytes(letter.value) : { bytes: null, changed: false };
        const headers: IHeaders = {
          [DLQ_HEADERS.reason]: letter.reason,
          [DLQ_HEADERS.topic]: letter.source.topic,
          [DLQ_HEADERS.partition]: String(letter.source.partition),
          [DLQ_HEADERS.offset]: letter.source.offset,
          [DLQ_HEADERS.timestamp]: now,
        };
        if (redacted.changed) headers[DLQ_HEADERS.redacted] = 'true';
        return { key: letter.key, value: redacted.bytes, headers };
      }),
    });
  }
}
