import type { ClickHouseClient } from '@clickhouse/client';
import type { ConsumedMessage } from './batching-consumer.js';
import type { DeadLetterPublisher } from './dead-letter.js';
import type { IngestMetrics } from '@tokenwatch/shared/metrics';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import type { DeadLetterGuard } from './dead-letter-guard.js';
import type { DecodeResult } from './results.js';
import { sortBatch } from './classify.js';

export interface IngestPipelineDeps {
  readonly clickhouse: ClickHouseClient;
  readonly deadLetters: DeadLetterPublisher;
  readonly guard: DeadLetterGuard;
  readonly metrics: IngestMetrics;
  readonly decode: (value: Buffer | null) => DecodeResult[];
}

/**
 * One consumed batch, end to end: decode, check the dead-letter ratio, store the valid
 * events, dead-letter the rest. It resolves only when both ClickHouse and the dead-letter
 * topic acknowledged, which is what allows the consumer to commit afterwards.
 */
export function createIngestPipeline(deps: IngestPipelineDeps) {
  const { clickhouse, deadLetters, guard, metrics, decode } = deps;
  return async function ingestBatch(messages: readonly ConsumedMessage[], batchId: string): Promise<void> {
    const sorted = sortBatch(messages, (message) => decode(message.value));
    guard.check(messages.length, sorted.rejected.length);

    const stopTimer = metrics.insertSeconds.startTimer();
    try {
      await insertTokenRequests(clickhouse, sorted.lines, { dedupToken: batchId });
    } catch (error) {
      metrics.insertErrors.inc();
      throw error;
    }
    stopTimer();
    await deadLetters.send(
      sorted.rejected.map(({ record, reason }) => ({
        value: record.value,
        key: record.key,
        reason,
        source: { topic: record.topic, partition: record.partition, offset: record.offset },
      })),
    );

    metrics.consumed.inc(messages.length);
    metrics.stored.inc(sorted.lines.length);
    metrics.duplicate.inc(sorted.duplicates);
    metrics.deadLettered.inc(sorted.rejected.length);
    metrics.skipped.inc(sorted.skipped);
    for (const [value, count] of sorted.unknownAuthMethods) metrics.unknownAuthMethod.inc({ value: value.slice(0, 64) }, count);
    metrics.batchSize.observe(messages.length);
  };
}
