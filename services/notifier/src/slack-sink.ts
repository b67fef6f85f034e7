import { createHash } from 'node:crypto';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import type { Logger } from '@tokenwatch/shared/log';
import type { NotifierMetrics } from '@tokenwatch/shared/metrics';
import { MINUTE_MS } from '@tokenwatch/shared/time';
import type { NotifyConfig } from './config.js';
import { EMPTY_SLACK_STATE, type Ledger, type LedgerEntry, type SlackRef, type SlackState } from './ledger.js';
import { buildAlertMessage, buildDigestMessage, buildReplyMessage, classifyChange, type NotifiedState } from './message.js';
import { routeAlert } from './routing.js';
import { PermanentSlackError, type PostOutcome, type SlackSender } from './slack-sender.js';
import type { AlertSink } from './sinks.js';

/**
 * The alert lifecycle in Slack:
 * - first firing: a root message; its channel and ts go to the ledger (after an `intent` row,
 *   so a crash mid-post is searched for, not blindly reposted);
 * - repeats: a thread reply (at most one per repeat_reply_interval_seconds) and a chat.update
 *   of the root with the new count and last_seen;
 * - escalation, resolution, re-firing: a thread reply and a chat.update;
 * - on-call's actions (acknowledged, resolved or suppressed by someone): a thread reply that
 *   says who, and a chat.update whose Triage line says it too; an acknowledged alert that
 *   grows only updates the root (no "seen again" reply: on-call already has it);
 * - storms: more than digest_threshold new alerts for one channel within a minute become one
 *   digest message with each alert in its thread (later repeats reply in that thread).
 */

const STORM_WINDOW_MS = MINUTE_MS;

interface OpenDigest {
  readonly id: string;
  readonly channel: string;
  readonly ref: SlackRef;
  readonly openedAt: number;
  readonly members: StoredAlert[];
}

export interface SlackSinkOptions {
  readonly sender: SlackSender;
  readonly ledger: Ledger;
  readonly config: NotifyConfig;
  readonly defaultChannel?: string | undefined;
  readonly logger: Logger;
  readonly metrics: NotifierMetrics;
  readonly now?: () => number;
  /**
   * `slack` (the default) posts every alert to its channel; `slack_copy` posts critical
   * alerts that went to their client's inventory channel to SLACK_CHANNEL as well. Each keeps its own
   * ledger rows, so one channel being down never holds back or loses the other's message.
   */
  readonly role?: SlackSinkRole;
}

export type SlackSinkRole = 'slack' | 'slack_copy';

export class SlackSink implements AlertSink {
  readonly name: SlackSinkRole;
  private readonly now: () => number;
  /** When roots were posted per channel in the last minute: the storm detector. */
  private readonly recentRoots = new Map<string, number[]>();
  private readonly openDigests = new Map<string, OpenDigest>();

  constructor(private readonly options: SlackSinkOptions) {
    this.now = options.now ?? Date.now;
    this.name = options.role ?? 'slack';
  }

  async deliver(page: readonly StoredAlert[]): Promise<void> {
    let alerts = page;
    const states = await this.options.ledger.slackStates(this.name, page.map((alert) => alert.alert_id));
    const stateOf = (alert: StoredAlert) => states.get(alert.alert_id) ?? EMPTY_SLACK_STATE;
    const skipped = alerts.filter((alert) => this.routeOrSkip(alert) === undefined && !stateOf(alert).root && !stateOf(alert).intent);
    if (skipped.length > 0) {
      // Nothing to post here (a copy of an alert that is not critical): finished for this sink.
      await this.options.ledger.record(
        ...skipped.map((alert) => ({ sink: this.name, alert_id: alert.alert_id, alert_version: alert.updated_at, message: 'root', step: 'skipped', completes: true, ...this.facts(alert) }) as const),
      );
      const done = new Set(skipped.map((alert) => alert.alert_id));
      alerts = alerts.filter((alert) => !done.has(alert.alert_id));
    }
    // New alerts (nothing in Slack, nothing attempted) per channel, to spot a storm up front.
    const fresh = new Map<string, StoredAlert[]>();
    for (const alert of alerts) {
      const state = stateOf(alert);
      if (state.root || state.intent) continue;
      const channel = this.route(alert);
      fresh.set(channel, [...(fresh.get(channel) ?? []), alert]);
    }
    const storms = new Map<string, StoredAlert[]>();
    for (const [channel, group] of fresh) {
      if (this.inStorm(channel, group.length)) storms.set(channel, group);
    }
    const digested = new Set<string>();
    for (const alert of alerts) {
      if (digested.has(alert.alert_id)) continue;
      const state = stateOf(alert);
      const storm = !state.root && !state.intent ? storms.get(this.route(alert)) : undefined;
      if (storm) {
        await this.deliverDigest(this.route(alert), storm);
        for (const member of storm) digested.add(member.alert_id);
        continue;
      }
      await this.deliverOne(alert, state);
    }
  }

  private route(alert: StoredAlert): string {
    const channel = this.routeOrSkip(alert);
    // assertEveryAlertRoutable ran at start-up, and deliver() set aside the copies with no
    // channel, so this cannot happen with a valid setup.
    if (!channel) throw new Error(`no Slack channel for alert ${alert.alert_id}`);
    return channel;
  }

  /** Where this sink posts the alert; undefined: nowhere (only the copy sink skips alerts). */
  private routeOrSkip(alert: StoredAlert): string | undefined {
    const { config, defaultChannel } = this.options;
    if (this.name === 'slack') return routeAlert(alert, config.routes, defaultChannel);
    // Only alerts that went to their client's own channel: where notify.routes sends a
    // critical alert is the operator's explicit choice, and alerts stored before the inventory
    // existed (no channel) are not copied on upgrade.
    const copied = alert.severity === 'critical' && alert.slack_channel !== '' && alert.slack_channel !== defaultChannel;
    return copied ? defaultChannel : undefined;
  }

  private inStorm(channel: string, incoming: number): boolean {
    const now = this.now();
    const open = this.openDigests.get(channel);
    if (open && now - open.openedAt < STORM_WINDOW_MS) return true;
    const recent = (this.recentRoots.get(channel) ?? []).filter((at) => now - at < STORM_WINDOW_MS);
    this.recentRoots.set(channel, recent);
    return recent.length + incoming > this.options.config.digest_threshold;
  }

  private noteRoot(channel: string): void {
    this.recentRoots.set(channel, [...(this.recentRoots.get(channel) ?? []), this.now()]);
  }

  private messageOptions(note?: string) {
    return { runbookBaseUrl: this.options.config.runbook_base_url, note };
  }

  private facts(alert: StoredAlert): Pick<LedgerEntry, 'severity' | 'status' | 'event_count'> {
    return { severity: alert.severity, status: alert.status, event_count: alert.event_count };
  }

  private async deliverOne(alert: StoredAlert, state: SlackState): Promise<void> {
    if (!state.root) {
      await this.postRoot(alert, state, state.intent?.channel || this.route(alert), state.intent?.thread_ts ?? '');
      return;
    }
    await this.followUp(alert, state, state.root);
  }

  /** The first message of an alert, top-level or in a digest thread. */
  private async postRoot(alert: StoredAlert, state: SlackState, channel: string, threadTs: string): Promise<void> {
    const { ledger, logger } = this.options;
    const base = { sink: this.name, alert_id: alert.alert_id, alert_version: alert.updated_at, message: 'root', ...this.facts(alert) } as const;
    if (!state.intent) await ledger.record({ ...base, step: 'intent', channel, thread_ts: threadTs });
    let outcome: PostOutcome;
    try {
      outcome = await this.options.sender.postOnce({
        channel,
        threadTs: threadTs || undefined,
        key: { alert_id: alert.alert_id, kind: 'root' },
        message: (note) => buildAlertMessage(alert, this.messageOptions(note)),
        searchSince: state.intent?.at,
      });
    } catch (error) {
      if (!(error instanceof PermanentSlackError)) throw error;
      const fallback = this.options.defaultChannel;
      if (fallback && fallback !== channel && !threadTs) {
        // A routed channel that refuses (archived, bot not invited) must not swallow the alert.
        logger.error({ channel, alert_id: alert.alert_id, error: error.code }, 'routed channel refused the alert; posting it to SLACK_CHANNEL');
        await ledger.record({ ...base, step: 'failed', channel, detail: error.code });
        await this.postRoot(alert, EMPTY_SLACK_STATE, fallback, '');
        return;
      }
      logger.error({ channel, alert_id: alert.alert_id, error: error.code, summary: alert.summary }, 'Slack refused the alert; recorded as failed');
      await ledger.record({ ...base, step: 'failed', channel, completes: true, detail: error.code });
      return;
    }
    const detail = outcome.found ? 'found in history after an ambiguous post' : outcome.possibleDuplicate ? 'possible duplicate' : '';
    await ledger.record({ ...base, step: 'sent', channel: outcome.channel, ts: outcome.ts, thread_ts: threadTs, completes: !outcome.found, detail });
    this.options.metrics.deliveries.inc({ channel_kind: this.name, message: 'root' });
    this.noteRoot(channel);
    logger.info({ channel: outcome.channel, ts: outcome.ts, alert_id: alert.alert_id, found: outcome.found }, 'alert posted to Slack');
    // A root found after an ambiguous post may show an older version: bring it up to date.
    if (outcome.found) await this.updateRoot(alert, { channel: outcome.channel, ts: outcome.ts, thread_ts: threadTs });
  }

  /** A repeat, escalation, resolution or re-firing of an alert that has a root message. */
  private async followUp(alert: StoredAlert, state: SlackState, root: SlackRef): Promise<void> {
    const previous: NotifiedState = state.notified ?? { severity: alert.severity, status: alert.status, event_count: alert.event_count };
    const change = classifyChange(alert, previous);
    const intervalMs = this.options.config.slack.repeat_reply_interval_seconds * 1000;
    // An acknowledged alert that grows pages nobody again: the root is updated, no reply.
    const quiet = change === 'repeat' && alert.status === 'acknowledged';
    const due = change !== undefined && !quiet && (change !== 'repeat' || this.now() - state.lastReplyAt >= intervalMs);
    if (due && state.replySentVersion < alert.updated_at) {
      await this.reply(alert, state, root, previous, change);
    }
    await this.updateRoot(alert, root);
  }

  private async reply(
    alert: StoredAlert,
    state: SlackState,
    root: SlackRef,
    previous: NotifiedState,
    change: NonNullable<ReturnType<typeof classifyChange>>,
  ): Promise<void> {
    const { ledger } = this.options;
    const base = { sink: this.name, alert_id: alert.alert_id, alert_version: alert.updated_at, message: 'reply', channel: root.channel, ...this.facts(alert) } as const;
    const thread = root.thread_ts || root.ts;
    const retrying = state.replyIntent?.version === alert.updated_at;
    if (!retrying) await ledger.record({ ...base, step: 'intent', thread_ts: thread });
    try {
      const outcome = await this.options.sender.postOnce({
        channel: root.channel,
        threadTs: thread,
        key: { alert_id: alert.alert_id, kind: 'reply', version: alert.updated_at },
        message: () => buildReplyMessage(alert, previous, change),
        searchSince: retrying ? state.replyIntent?.at : undefined,
      });
      await ledger.record({ ...base, step: 'sent', ts: outcome.ts, thread_ts: thread, detail: change });
      this.options.metrics.deliveries.inc({ channel_kind: this.name, message: 'reply' });
    } catch (error) {
      if (!(error instanceof PermanentSlackError)) throw error;
      // The root update below still carries the news.
      this.options.logger.warn({ channel: root.channel, alert_id: alert.alert_id, error: error.code }, 'Slack refused a thread reply');
      await ledger.record({ ...base, step: 'failed', thread_ts: thread, detail: error.code });
    }
  }

  private async updateRoot(alert: StoredAlert, root: SlackRef): Promise<void> {
    const { ledger } = this.options;
    const base = { sink: this.name, alert_id: alert.alert_id, alert_version: alert.updated_at, message: 'update', channel: root.channel, ts: root.ts, thread_ts: root.thread_ts, completes: true, ...this.facts(alert) } as const;
    try {
      await this.options.sender.update(root.channel, root.ts, buildAlertMessage(alert, this.messageOptions()));
    } catch (error) {
      if (!(error instanceof PermanentSlackError)) throw error;
      // Typically the root was deleted in Slack (message_not_found): nothing left to update.
      this.options.logger.warn({ channel: root.channel, ts: root.ts, alert_id: alert.alert_id, error: error.code }, 'Slack refused to update the root message');
      await ledger.record({ ...base, step: 'failed', detail: error.code });
      return;
    }
    await ledger.record({ ...base, step: 'sent' });
    this.options.metrics.deliveries.inc({ channel_kind: this.name, message: 'update' });
  }

  /** One digest root for a storm (or the channel's open one), then every alert in its thread. */
  private async deliverDigest(channel: string, group: readonly StoredAlert[]): Promise<void> {
    const { ledger, logger } = this.options;
    const now = this.now();
    let digest = this.openDigests.get(channel);
    const reuse = digest !== undefined && now - digest.openedAt < STORM_WINDOW_MS;
    if (!digest || !reuse) {
      // Derived from the members, so a crash mid-post finds the same intent on restart.
      const id = `digest-${createHash('sha256').update([channel, ...group.map((alert) => alert.alert_id).sort()].join('\u0000')).digest('hex').slice(0, 32)}`;
      const state = (await ledger.slackStates(this.name, [id])).get(id) ?? EMPTY_SLACK_STATE;
      let ref = state.root;
      if (!ref) {
        const base = { sink: this.name, alert_id: id, alert_version: 0, message: 'digest', event_count: group.length } as const;
        if (!state.intent) await ledger.record({ ...base, step: 'intent', channel });
        const outcome = await this.options.sender.postOnce({
          channel,
          key: { alert_id: id, kind: 'digest' },
          message: () => buildDigestMessage(group),
          searchSince: state.intent?.at,
        });
        await ledger.record({ ...base, step: 'sent', channel: outcome.channel, ts: outcome.ts });
        this.options.metrics.deliveries.inc({ channel_kind: this.name, message: 'digest' });
        ref = { channel: outcome.channel, ts: outcome.ts, thread_ts: '' };
      }
      digest = { id, channel, ref, openedAt: now, members: [] };
      this.openDigests.set(channel, digest);
      logger.warn({ channel, alerts: group.length, ts: ref.ts }, 'alert storm: sending a digest with the alerts in its thread');
    }
    for (const alert of group) {
      await this.postRoot(alert, EMPTY_SLACK_STATE, digest.ref.channel, digest.ref.ts);
      digest.members.push(alert);
    }
    if (reuse) {
      await this.options.sender.update(digest.ref.channel, digest.ref.ts, buildDigestMessage(digest.members));
      await ledger.record({ sink: this.name, alert_id: digest.id, alert_version: 0, message: 'digest_update', step: 'sent', channel: digest.ref.channel, ts: digest.ref.ts, event_count: digest.members.length });
    }
  }
}
