import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import type { NotifierMetrics } from '@tokenwatch/shared/metrics';
import { redactText } from '@tokenwatch/shared/redact';
import type { WebhookDeliveryConfig } from './config.js';
import type { Ledger, SinkName } from './ledger.js';
import { investigationSql, renderAlertPlain, runbookReference } from './message.js';
import { isTransient, TransientDeliveryError } from './delivery-error.js';
import { backoff, PermanentSlackError } from './slack-sender.js';

/**
 * Where alerts go. The feed hands each sink the alert versions it has not finished, oldest
 * first; a sink records every finished version in the ledger, so a restart resumes after it.
 * A sink throws TransientDeliveryError when it cannot go on now (the rest stays pending).
 */
export interface AlertSink {
  readonly name: SinkName;
  deliver(alerts: readonly StoredAlert[]): Promise<void>;
}


/** The alert as JSON for files and webhooks: times as ISO text, plus how to investigate it. */
export function alertDocument(alert: StoredAlert, runbookBaseUrl: string | undefined): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const runbook = runbookReference(alert.finding, runbookBaseUrl);
  return {
    ...alert,
    window_start: iso(alert.window_start),
    first_seen: iso(alert.first_seen),
    last_seen: iso(alert.last_seen),
    created_at: iso(alert.created_at),
    updated_at: iso(alert.updated_at),
    // null until on-call acts (stored as 1970).
    triaged_at: alert.triage_action ? iso(alert.triaged_at) : null,
    runbook: runbook.url ?? runbook.text,
    investigation_sql: investigationSql(alert),
  };
}

interface SimpleSinkOptions {
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly metrics: NotifierMetrics;
  readonly runbookBaseUrl?: string | undefined;
}

/**
 * A sink that sends each version on its own and records it: terminal, file, webhook. At least
 * once: a crash between sending and recording sends that version again after a restart.
 */
abstract class SimpleSink implements AlertSink {
  abstract readonly name: SinkName;

  constructor(protected readonly options: SimpleSinkOptions) {}

  protected abstract send(alert: StoredAlert): Promise<void>;

  async deliver(alerts: readonly StoredAlert[]): Promise<void> {
    for (const alert of alerts) {
      const row = { sink: this.name, alert_id: alert.alert_id, alert_version: alert.updated_at, message: 'delivery', completes: true } as const;
      const facts = { severity: alert.severity, status: alert.status, event_count: alert.event_count };
      try {
        await this.send(alert);
      } catch (error) {
        if (isTransient(error)) throw error;
        const detail = redactText(errorMessage(error));
        this.options.metrics.failures.inc({ channel_kind: this.name, reason: error instanceof PermanentSlackError ? this.options.metrics.slackErrorCode.of(error.code) : 'refused' });
        this.options.logger.error({ sink: this.name, alert_id: alert.alert_id, error: detail }, 'alert refused by the sink; recorded as failed');
        await this.options.ledger.record({ ...row, ...facts, step: 'failed', detail });
        continue;
      }
      await this.options.ledger.record({ ...row, ...facts, step: 'sent' });
      this.options.metrics.deliveries.inc({ channel_kind: this.name, message: 'delivery' });
    }
  }
}

/** Readable alerts on the terminal: the feed works with no Slack at all. */
export class TerminalSink extends SimpleSink {
  readonly name = 'terminal';

  constructor(
    options: SimpleSinkOptions,
    private readonly output: Writable,
  ) {
    super(options);
  }

  protected async send(alert: StoredAlert): Promise<void> {
    // A version on-call wrote is no repeat: its status and triage line say what happened.
    const triaged = alert.triage_action !== '' && alert.triaged_at === alert.updated_at;
    const change = alert.created_at === alert.updated_at ? 'new' : triaged || alert.status === 'resolved' ? undefined : 'repeat';
    const text = `${renderAlertPlain(alert, { runbookBaseUrl: this.options.runbookBaseUrl, ...(change ? { change } : {}) })}\n\n`;
    await new Promise<void>((resolve, reject) => this.output.write(text, (error) => (error ? reject(error) : resolve())));
  }
}

/** One JSON document per alert version, appended to TOKENWATCH_ALERTS_FILE. */
export class JsonLinesSink extends SimpleSink {
  readonly name = 'jsonl';

  constructor(
    options: SimpleSinkOptions,
    private readonly path: string,
  ) {
    super(options);
  }

  protected async send(alert: StoredAlert): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, `${JSON.stringify(alertDocument(alert, this.options.runbookBaseUrl))}\n`, 'utf8');
    } catch (error) {
      // A full disk or a permission problem affects every alert: keep them pending.
      throw new TransientDeliveryError(`cannot append to TOKENWATCH_ALERTS_FILE=${this.path}: ${errorMessage(error)}`);
    }
  }
}

/**
 * POSTs each alert version as JSON to TOKENWATCH_WEBHOOK_URL, retried like Slack: 429 after
 * Retry-After, 5xx and network errors with backoff. The Idempotency-Key header
 * (alert_id:updated_at) lets a receiver drop the repeat a crash can cause. The URL may embed a
 * secret, so it is never logged.
 */
export class WebhookSink extends SimpleSink {
  readonly name = 'webhook';

  private readonly url: string;
  private readonly authorization: Record<string, string>;

  constructor(
    options: SimpleSinkOptions,
    url: string,
    private readonly config: WebhookDeliveryConfig,
    private readonly signal?: AbortSignal,
  ) {
    super(options);
    // fetch refuses URLs with credentials (and its error would quote them): send them as
    // Basic authentication instead, from a URL that no longer carries them.
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    parsed.username = '';
    parsed.password = '';
    this.url = parsed.toString();
    this.authorization = user || password ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
  }

  protected async send(alert: StoredAlert): Promise<void> {
    const body = JSON.stringify(alertDocument(alert, this.options.runbookBaseUrl));
    let last = '';
    let reason = 'network';
    for (let attempt = 1; attempt <= this.config.max_attempts; attempt++) {
      let waitMs = backoff(attempt, this.config.backoff_base_ms, this.config.backoff_max_ms);
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'tokenwatch-notifier',
            'idempotency-key': `${alert.alert_id}:${alert.updated_at}`,
            ...this.authorization,
          },
          body,
          signal: AbortSignal.timeout(this.config.timeout_ms),
        });
        await response.body?.cancel();
        if (response.ok) return;
        last = `HTTP ${response.status}`;
        reason = `http_${response.status}`;
        if (response.status === 429) waitMs = retryAfterMs(response.headers.get('retry-after')) ?? waitMs;
        else if (response.status < 500 && response.status !== 408) throw new PermanentWebhookError(`the webhook answered ${last}`);
      } catch (error) {
        if (error instanceof PermanentWebhookError) throw error;
        last = redactText(errorMessage(error));
        reason = 'network';
      }
      this.options.metrics.retries.inc({ channel_kind: 'webhook', reason });
      this.options.logger.warn({ sink: 'webhook', alert_id: alert.alert_id, attempt, error: last }, 'webhook delivery failed; retrying');
      if (attempt < this.config.max_attempts) {
        try {
          await delay(waitMs, undefined, this.signal ? { signal: this.signal } : {});
        } catch {
          // Stopping: the version stays pending for the next run rather than counting as refused.
          throw new TransientDeliveryError('the notifier is stopping; webhook delivery left pending');
        }
      }
    }
    throw new TransientDeliveryError(`webhook delivery failed ${this.config.max_attempts} times (last: ${last})`);
  }
}

class PermanentWebhookError extends Error {
  override readonly name = 'PermanentWebhookError';
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
