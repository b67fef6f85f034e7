import { FINDINGS } from '@tokenwatch/detector/findings';
import type { Logger } from '@tokenwatch/shared/log';
import type { NotifierMetrics } from '@tokenwatch/shared/metrics';
import { errorMessage } from '@tokenwatch/shared/errors';
import { redactText } from '@tokenwatch/shared/redact';
import { HOUR_MS } from '@tokenwatch/shared/time';
import type { NotifyConfig } from './config.js';
import type { Ledger } from './ledger.js';
import { isTransient } from './delivery-error.js';
import type { AlertSink } from './sinks.js';

/** What one round did for one sink. */
export interface SinkRound {
  readonly sink: string;
  /** Alert versions finished (delivered, or refused and recorded as failed). */
  readonly handled: number;
  /** Set when the sink stopped on a transient failure; the rest stays pending. */
  readonly error?: string;
}

const PAGE = 500;

/**
 * Feeds each sink the alert versions it has not finished. A cursor per sink (the newest
 * version fully handled) bounds the read; each read starts `overlap_seconds` before it, and the
 * ledger drops what is already done, so a late-visible alert version is still delivered. The
 * first round after start-up looks back `catch_up_hours` for whatever a restart left pending.
 */
export class AlertFeed {
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly options: {
      readonly ledger: Ledger;
      readonly sinks: readonly AlertSink[];
      readonly config: NotifyConfig;
      readonly logger: Logger;
      readonly metrics: NotifierMetrics;
      readonly now?: () => number;
    },
  ) {}

  async round(): Promise<SinkRound[]> {
    const results: SinkRound[] = [];
    for (const sink of this.options.sinks) results.push(await this.roundFor(sink));
    return results;
  }

  private async roundFor(sink: AlertSink): Promise<SinkRound> {
    const { ledger, config, logger, metrics } = this.options;
    const now = (this.options.now ?? Date.now)();
    const cursor = this.cursors.get(sink.name) ?? now - config.catch_up_hours * HOUR_MS;
    const since = cursor - config.overlap_seconds * 1000;
    let handled = 0;
    let newest = cursor;
    // Bounded so a sink that leaves a version unfinished without an error cannot spin a round.
    for (let pages = 0; pages < 100; pages++) {
      const page = await ledger.pendingAlerts(sink.name, since, PAGE);
      if (page.length === 0) break;
      // Delivered all the same (the message says what is wrong): an alert is never held back
      // because its evidence is not what this version expects.
      for (const alert of page) {
        const read = FINDINGS.read(alert);
        if (!read.ok) logger.warn({ sink: sink.name, alert_id: alert.alert_id, finding: alert.finding, problem: read.problem }, 'alert evidence not readable by its finding; delivered as stored');
      }
      try {
        await sink.deliver(page);
      } catch (error) {
        if (!isTransient(error)) throw error;
        const message = redactText(errorMessage(error));
        logger.warn({ sink: sink.name, error: message }, 'delivery paused: will retry on the next poll');
        metrics.pending.set({ channel_kind: sink.name }, page.length);
        return { sink: sink.name, handled, error: message };
      }
      handled += page.length;
      newest = Math.max(newest, page[page.length - 1]?.updated_at ?? newest);
      if (page.length < PAGE) break;
    }
    this.cursors.set(sink.name, newest);
    metrics.pending.set({ channel_kind: sink.name }, 0);
    return { sink: sink.name, handled };
  }
}
