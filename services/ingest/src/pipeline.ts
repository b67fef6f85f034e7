import type { ClickHouseClient } from '@clickhouse/client';
import type { ConsumedMessage } from './batching-consumer.js';
import type { DeadLetterPublisher } from './dead-letter.js';
import { DependencyError } from '@tokenwatch/shared/errors';
import type { IngestMetrics } from '@tokenwatch/shared/metrics';
import type { DeadLetterGuard } from './dead-letter-guard.js';
import type { DecodeResult } from './results.js';
import { storeDecoded } from './store.js';

export interface IngestPipelineDeps {
  readonly clickhouse: ClickHouseClient;
  readonly deadLetters: DeadLetterPublisher;
  readonly guard: DeadLetterGuard;
  readonly metrics: IngestMetrics;
  readonly retentionDays: number;
  readonly decode: (value: Buffer | null) => DecodeResult[];
}

/**
 * One consumed batch, end to end: the write path (storeDecoded) with the dead-letter ratio
 * checked before anything is written, then the records that did not decode or that
 * ClickHouse refused to the dead-letter topic. It resolves only when both ClickHouse and the
 * dead-letter topic acknowledged, which is what allows the consumer to commit afterwards; it
 * rejects with a DependencyError when either is unavailable (the consumer pauses and retries).
 */
export function createIngestPipeline(deps: IngestPipelineDeps) {
  const { clickhouse, deadLetters, guard, metrics, retentionDays, decode } = deps;
  return async function ingestBatch(messages: readonly ConsumedMessage[], batchId: string): Promise<void> {
    const stopTimer = metrics.insertSeconds.startTimer();
    let outcome;
    try {
      outcome = await storeDecoded(messages, (message) => decode(message.value), {
        clickhouse,
        source: batchId,
        retentionDays,
        admit: (batch) => guard.check(messages.length, batch.invalid.length),
      });
    } catch (error) {
      if (error instanceof DependencyError) metrics.insertErrors.inc();
      throw error;
    }
    stopTimer();
    await deadLetters.send(
      outcome.rejected.map(({ record, reason }) => ({
        value: record.value,
        key: record.key,
        reason,
        source: { topic: record.topic, partition: record.partition, offset: record.offset },
      })),
    );

    metrics.consumed.inc(messages.length);
    metrics.stored.inc(outcome.stored);
    metrics.duplicate.inc(outcome.repeatedInBatch);
    metrics.deadLettered.inc(outcome.rejected.length);
    metrics.refused.inc(outcome.refusedByStorage);
    metrics.expired.inc(outcome.expired);
    metrics.skipped.inc(outcome.notTokenRequests);
    metrics.inserts.inc(outcome.inserts);
    for (const [value, count] of outcome.unknownAuthMethods) metrics.unknownAuthMethod.inc({ value: metrics.unknownAuthMethodValue.of(value) }, count);
    metrics.batchSize.observe(messages.length);
  };
}
