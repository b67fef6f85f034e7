import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { storedAlertSchema, type StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { insertLines, queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { clickHouseTimeSchema, toClickHouseTime } from '@tokenwatch/shared/storage/time';

/**
 * The delivery ledger (`notifications`, migration 0005): every step of delivering an alert
 * version is appended before or after it happens, so a restart knows what Slack has, what it
 * may have (an intent without a ts) and what is still to do.
 */

const INSERT = sql(import.meta.url, './insert-notifications.sql');
const PENDING_ALERTS = sql(import.meta.url, './pending-alerts.sql');
const SLACK_STATES = sql(import.meta.url, './slack-states.sql');

export type SinkName = 'slack' | 'slack_copy' | 'terminal' | 'jsonl' | 'webhook';
export type LedgerMessage = 'root' | 'reply' | 'update' | 'digest' | 'digest_update' | 'delivery';
export type LedgerStep = 'intent' | 'sent' | 'skipped' | 'failed';

export interface LedgerEntry {
  readonly sink: SinkName;
  readonly alert_id: string;
  /** updated_at of the alert version (epoch ms); 0 for digests. */
  readonly alert_version: number;
  readonly message: LedgerMessage;
  readonly step: LedgerStep;
  readonly completes?: boolean;
  readonly channel?: string;
  readonly ts?: string;
  readonly thread_ts?: string;
  readonly severity?: string;
  readonly status?: string;
  readonly event_count?: number;
  readonly detail?: string;
}

export interface SlackRef {
  readonly channel: string;
  readonly ts: string;
  /** The digest thread the message is in; empty for a top-level root. */
  readonly thread_ts: string;
}

/** What Slack already has of one alert or digest. */
export interface SlackState {
  readonly root?: SlackRef;
  /** A post that was attempted but never confirmed (ambiguous): search before posting again. */
  readonly intent?: { readonly channel: string; readonly thread_ts: string; readonly at: number };
  readonly notified?: { readonly severity: string; readonly status: string; readonly event_count: number };
  readonly lastReplyAt: number;
  readonly replySentVersion: number;
  readonly replyIntent?: { readonly version: number; readonly at: number };
}

const stateRowSchema = z.object({
  alert_id: z.string(),
  root_channel: z.string(),
  root_ts: z.string(),
  root_thread_ts: z.string(),
  intent_channel: z.string(),
  intent_thread_ts: z.string(),
  intent_at: clickHouseTimeSchema,
  notified_severity: z.string(),
  notified_status: z.string(),
  notified_event_count: z.coerce.number(),
  last_reply_at: clickHouseTimeSchema,
  reply_sent_version: clickHouseTimeSchema,
  reply_intent_version: clickHouseTimeSchema,
  reply_intent_at: clickHouseTimeSchema,
});

export class Ledger {
  // Rows of one process get strictly increasing recorded_at, so "the latest row" is defined
  // even when two steps land in the same millisecond.
  private lastRecordedAt = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly now: () => number = Date.now,
  ) {}

  async record(...entries: readonly LedgerEntry[]): Promise<void> {
    const lines = entries.map((entry) => {
      this.lastRecordedAt = Math.max(this.now(), this.lastRecordedAt + 1);
      return JSON.stringify({
        sink: entry.sink,
        alert_id: entry.alert_id,
        alert_version: toClickHouseTime(entry.alert_version),
        message: entry.message,
        step: entry.step,
        completes: entry.completes ?? false,
        channel: entry.channel ?? '',
        ts: entry.ts ?? '',
        thread_ts: entry.thread_ts ?? '',
        severity: entry.severity ?? '',
        status: entry.status ?? '',
        event_count: entry.event_count ?? 0,
        detail: entry.detail ?? '',
        recorded_at: toClickHouseTime(this.lastRecordedAt),
      });
    });
    await insertLines(this.client, INSERT, lines);
  }

  /** Alert versions changed after `since` that `sink` has not finished, oldest change first. */
  async pendingAlerts(sink: SinkName, since: number, limit: number): Promise<StoredAlert[]> {
    return queryRows(this.client, PENDING_ALERTS, { sink, since: toClickHouseTime(since), limit }, storedAlertSchema);
  }

  async slackStates(sink: 'slack' | 'slack_copy', ids: readonly string[]): Promise<Map<string, SlackState>> {
    if (ids.length === 0) return new Map();
    const states = new Map<string, SlackState>();
    for (const row of await queryRows(this.client, SLACK_STATES, { sink, ids }, stateRowSchema)) {
      states.set(row.alert_id, {
        ...(row.root_ts ? { root: { channel: row.root_channel, ts: row.root_ts, thread_ts: row.root_thread_ts } } : {}),
        ...(row.intent_at > 0 ? { intent: { channel: row.intent_channel, thread_ts: row.intent_thread_ts, at: row.intent_at } } : {}),
        ...(row.notified_status
          ? { notified: { severity: row.notified_severity, status: row.notified_status, event_count: row.notified_event_count } }
          : {}),
        lastReplyAt: row.last_reply_at,
        replySentVersion: row.reply_sent_version,
        ...(row.reply_intent_version > row.reply_sent_version ? { replyIntent: { version: row.reply_intent_version, at: row.reply_intent_at } } : {}),
      });
    }
    return states;
  }
}

export const EMPTY_SLACK_STATE: SlackState = { lastReplyAt: 0, replySentVersion: 0 };
