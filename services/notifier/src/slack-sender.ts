import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import { z } from 'zod';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import type { NotifierMetrics } from '@tokenwatch/shared/metrics';
import { TransientDeliveryError } from './delivery-error.js';
import { redactText } from '@tokenwatch/shared/redact';
import { MINUTE_MS } from '@tokenwatch/shared/time';
import type { SlackDeliveryConfig } from './config.js';
import type { SlackMessage } from './message.js';

/**
 * Talks to Slack's Web API with the delivery policy tokenwatch needs, which the SDK's own
 * retries cannot give: the SDK would silently resend a chat.postMessage whose response was
 * lost (Slack has no idempotency key), so its retries are off and this module decides.
 *
 * - About one message per second per channel (postMessage and update are paced alike).
 * - 429: wait Retry-After, then retry (nothing was posted).
 * - 5xx, timeouts, dropped connections: the post may have landed. Search the channel for the
 *   message by its metadata before posting again; retry chat.update freely (it is idempotent).
 * - Slack's `ok: false` answers: permanent for this message (bad channel, bad blocks), or
 *   blocking for every message (revoked token): the caller keeps the alert pending.
 */

export const METADATA_EVENT_TYPE = 'tokenwatch_alert';

/** What a message's metadata carries, so a lost response can be found again. */
export interface MessageKey {
  readonly alert_id: string;
  readonly kind: 'root' | 'reply' | 'digest';
  /** The alert version a reply is about (epoch ms); absent for roots and digests. */
  readonly version?: number;
}

export type FailureKind = 'rate_limited' | 'ambiguous' | 'rejected' | 'blocked';

/** One failed Slack call, classified. The message is redacted: it can be logged as it is. */
export class SlackCallError extends Error {
  override readonly name = 'SlackCallError';
  constructor(
    readonly kind: FailureKind,
    /** Slack's error code (`channel_not_found`), `http_503`, or `network`. */
    readonly code: string,
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(redactText(message));
  }
}

/** The message will never be accepted as it is (bad channel, blocks, archived channel). */
export class PermanentSlackError extends Error {
  override readonly name = 'PermanentSlackError';
  constructor(readonly code: string, message: string) {
    super(redactText(message));
  }
}


// `fatal_error` may have done part of the work, so it is ambiguous like a 5xx.
const AMBIGUOUS_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
// Problems of the token or the app, not of one message: nothing can be sent until fixed.
const BLOCKING_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'ekm_access_denied',
  'ratelimited',
  'team_access_not_granted',
]);
// The blocks were refused: the same alert is sent again as plain text.
const BLOCKS_REJECTED = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'too_many_blocks', 'invalid_metadata_format', 'invalid_metadata_schema']);
// Errors meaning the history cannot be searched (no scope, or a channel name instead of an id).
const LOOKUP_UNAVAILABLE = new Set(['missing_scope', 'not_allowed_token_type', 'channel_not_found', 'not_in_channel', 'no_permission']);

const okResponse = z.object({ ok: z.literal(true) });
const postResponse = z.object({ ok: z.literal(true), ts: z.string().min(1), channel: z.string().min(1) });
const historyResponse = z.object({
  ok: z.literal(true),
  messages: z
    .array(
      z.object({
        ts: z.string(),
        metadata: z.object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() }).optional(),
      }),
    )
    .default([]),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});
const authResponse = z.object({ ok: z.literal(true), team: z.string().optional(), user: z.string().optional(), bot_id: z.string().optional() });

export interface SlackSenderOptions {
  readonly token: string;
  /** Base URL of the Web API (SLACK_API_URL); Slack's when unset. */
  readonly apiUrl?: string | undefined;
  readonly config: SlackDeliveryConfig;
  readonly logger: Logger;
  readonly metrics: NotifierMetrics;
  /** Aborts waits (backoff, Retry-After) when the notifier stops. */
  readonly signal?: AbortSignal;
}

export interface PostRequest {
  readonly channel: string;
  readonly threadTs?: string | undefined;
  readonly key: MessageKey;
  /** Builds the message; `note` is set when it may duplicate one Slack already has. */
  readonly message: (note?: string) => SlackMessage;
  /**
   * Set when an earlier attempt (maybe by a previous process) may have posted it: the channel
   * is searched from this time (epoch ms) before anything is posted.
   */
  readonly searchSince?: number | undefined;
}

export interface PostOutcome {
  readonly ts: string;
  /** The channel id Slack answered with (a #name is resolved to its id). */
  readonly channel: string;
  /** The message was already in Slack (found by its metadata), not posted now. */
  readonly found: boolean;
  /** Posted although an earlier attempt may have landed (history could not be searched). */
  readonly possibleDuplicate: boolean;
}

export const POSSIBLE_DUPLICATE_NOTE =
  'An earlier attempt to post this alert may have reached Slack (its response was lost) and the channel history could not be searched; this may be a duplicate.';

export class SlackSender {
  private readonly client: WebClient;
  private readonly config: SlackDeliveryConfig;
  private readonly logger: Logger;
  private readonly metrics: NotifierMetrics;
  private readonly signal: AbortSignal | undefined;
  /** Earliest time the next message may go to a channel (pacing and Retry-After). */
  private readonly nextSlot = new Map<string, number>();
  /** Channel names (#alerts) to the ids Slack answered with; history and update need ids. */
  private readonly channelIds = new Map<string, string>();

  constructor(options: SlackSenderOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.signal = options.signal;
    this.client = new WebClient(options.token, {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/` } : {}),
      // Every retry decision is ours (see the module comment).
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.config.timeout_ms,
      // The axios error would carry the request config, Authorization header included.
      attachOriginalToWebAPIRequestError: false,
      allowAbsoluteUrls: false,
      logger: slackLogger(options.logger),
    });
  }

  /** Checks the token; a rejected token is a blocking error with Slack's code. */
  async authTest(): Promise<{ team?: string | undefined; user?: string | undefined }> {
    const result = authResponse.parse(await this.call('auth.test', {}));
    return { team: result.team, user: result.user };
  }

  /**
   * Posts a message exactly once as far as Slack lets anyone tell: after an ambiguous failure
   * (or when `searchSince` says an earlier attempt may have landed) the channel is searched for
   * the message's metadata first. Throws PermanentSlackError or TransientDeliveryError.
   */
  async postOnce(request: PostRequest): Promise<PostOutcome> {
    let searchSince = request.searchSince;
    let note: string | undefined;
    let plainText = false;
    let lastError: SlackCallError | undefined;
    for (let attempt = 1; attempt <= this.config.max_attempts; attempt++) {
      if (searchSince !== undefined) {
        const found = await this.search(request.channel, request.threadTs, request.key, searchSince);
        if (found.kind === 'found') {
          this.metrics.lookups.inc({ result: 'found' });
          return { ts: found.ts, channel: this.channelId(request.channel), found: true, possibleDuplicate: false };
        }
        this.metrics.lookups.inc({ result: found.kind });
        if (found.kind === 'unavailable') {
          note = POSSIBLE_DUPLICATE_NOTE;
          this.logger.warn(
            { channel: request.channel, alert_id: request.key.alert_id, reason: found.reason },
            'cannot search the channel for a possibly posted message (needs channels:history / groups:history and a channel id); posting it again, marked as a possible duplicate',
          );
        }
        searchSince = undefined;
      }
      const message = request.message(note);
      try {
        await this.pace(request.channel);
        const result = postResponse.parse(
          await this.call('chat.postMessage', {
            channel: this.channelId(request.channel),
            text: message.text,
            ...(plainText ? {} : { blocks: message.blocks }),
            ...(request.threadTs ? { thread_ts: request.threadTs } : {}),
            unfurl_links: false,
            unfurl_media: false,
            metadata: { event_type: METADATA_EVENT_TYPE, event_payload: { ...request.key } },
          }),
        );
        this.channelIds.set(request.channel, result.channel);
        return { ts: result.ts, channel: result.channel, found: false, possibleDuplicate: note !== undefined };
      } catch (error) {
        const failure = asCallError(error);
        lastError = failure;
        if (failure.kind === 'ambiguous') {
          // Search from a little before this attempt: Slack's ts comes from its own clock.
          searchSince = Date.now() - MINUTE_MS;
        }
        if (failure.kind === 'rejected' && BLOCKS_REJECTED.has(failure.code) && !plainText) {
          this.logger.warn({ channel: request.channel, alert_id: request.key.alert_id, error: failure.code }, 'Slack refused the blocks; sending the plain-text version');
          plainText = true;
          continue;
        }
        await this.afterFailure(failure, request.channel, 'chat.postMessage', attempt);
        if (failure.kind === 'ambiguous') await this.wait(this.config.lookup_delay_ms);
      }
    }
    throw new TransientDeliveryError(`chat.postMessage failed ${this.config.max_attempts} times: ${lastError?.message ?? 'unknown error'}`, lastError?.code ?? 'unknown');
  }

  /** Replaces a message's content; retried on every transient failure (updates are idempotent). */
  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    let plainText = false;
    let lastError: SlackCallError | undefined;
    for (let attempt = 1; attempt <= this.config.max_attempts; attempt++) {
      try {
        await this.pace(channel);
        okResponse.parse(
          await this.call('chat.update', { channel: this.channelId(channel), ts, text: message.text, ...(plainText ? { blocks: [] } : { blocks: message.blocks }) }),
        );
        return;
      } catch (error) {
        const failure = asCallError(error);
        lastError = failure;
        if (failure.kind === 'rejected' && BLOCKS_REJECTED.has(failure.code) && !plainText) {
          plainText = true;
          continue;
        }
        await this.afterFailure(failure, channel, 'chat.update', attempt);
      }
    }
    throw new TransientDeliveryError(`chat.update failed ${this.config.max_attempts} times: ${lastError?.message ?? 'unknown error'}`, lastError?.code ?? 'unknown');
  }

  /** Rethrows what cannot be retried; waits before the next attempt of what can. */
  private async afterFailure(failure: SlackCallError, channel: string, method: string, attempt: number): Promise<void> {
    const context = { channel, method, error: failure.code, attempt };
    if (failure.kind === 'rejected') {
      this.metrics.failures.inc({ channel_kind: 'slack', reason: this.metrics.slackErrorCode.of(failure.code) });
      throw new PermanentSlackError(failure.code, `${method} to ${channel}: ${failure.message}`);
    }
    if (failure.kind === 'blocked') {
      this.metrics.failures.inc({ channel_kind: 'slack', reason: this.metrics.slackErrorCode.of(failure.code) });
      throw new TransientDeliveryError(`${method} to ${channel}: ${failure.message}`, failure.code);
    }
    this.metrics.retries.inc({ channel_kind: 'slack', reason: failure.kind });
    if (failure.kind === 'rate_limited') {
      this.logger.warn({ ...context, retry_after_ms: failure.retryAfterMs }, 'Slack rate limit: waiting Retry-After');
      this.nextSlot.set(channel, Math.max(this.nextSlot.get(channel) ?? 0, Date.now() + failure.retryAfterMs));
      return;
    }
    this.logger.warn({ ...context, reason: failure.message }, 'Slack call failed; retrying with backoff');
    if (attempt < this.config.max_attempts) await this.wait(backoff(attempt, this.config.backoff_base_ms, this.config.backoff_max_ms));
  }

  /**
   * Looks for a message carrying `key` in its metadata, posted since `since`: top-level
   * messages via conversations.history, thread replies via conversations.replies.
   */
  private async search(
    channel: string,
    threadTs: string | undefined,
    key: MessageKey,
    since: number,
  ): Promise<{ kind: 'found'; ts: string } | { kind: 'not_found' } | { kind: 'unavailable'; reason: string }> {
    const id = this.channelIds.get(channel) ?? channel;
    if (!/^[CGD][A-Z0-9]+$/.test(id)) return { kind: 'unavailable', reason: 'the channel is configured by name; history needs its id' };
    const oldest = (Math.max(0, since - MINUTE_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const args = {
        channel: id,
        include_all_metadata: true,
        limit: 200,
        ...(threadTs ? { ts: threadTs } : { oldest }),
        ...(cursor ? { cursor } : {}),
      };
      let response;
      try {
        response = historyResponse.parse(await this.withRetries(channel, threadTs ? 'conversations.replies' : 'conversations.history', args));
      } catch (error) {
        if (error instanceof SlackCallError && LOOKUP_UNAVAILABLE.has(error.code)) return { kind: 'unavailable', reason: error.code };
        throw error;
      }
      for (const message of response.messages) {
        const payload = message.metadata?.event_type === METADATA_EVENT_TYPE ? message.metadata.event_payload : undefined;
        if (payload && payload.alert_id === key.alert_id && payload.kind === key.kind && (key.version === undefined || payload.version === key.version)) {
          return { kind: 'found', ts: message.ts };
        }
      }
      cursor = response.response_metadata?.next_cursor;
      if (!cursor) break;
    }
    return { kind: 'not_found' };
  }

  /** A read call retried on 429 and transient failures; rejected and blocking errors are thrown as SlackCallError. */
  private async withRetries(channel: string, method: string, args: Record<string, unknown>): Promise<unknown> {
    let lastError: SlackCallError | undefined;
    for (let attempt = 1; attempt <= this.config.max_attempts; attempt++) {
      try {
        return await this.call(method, args);
      } catch (error) {
        const failure = asCallError(error);
        if (failure.kind === 'rejected' || failure.kind === 'blocked') throw failure;
        lastError = failure;
        this.metrics.retries.inc({ channel_kind: 'slack', reason: failure.kind });
        await this.wait(failure.kind === 'rate_limited' ? failure.retryAfterMs : backoff(attempt, this.config.backoff_base_ms, this.config.backoff_max_ms));
      }
    }
    throw new TransientDeliveryError(`${method} in ${channel} failed ${this.config.max_attempts} times: ${lastError?.message ?? ''}`, lastError?.code ?? 'unknown');
  }

  private async call(method: string, args: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.client.apiCall(method, args);
    } catch (error) {
      throw asCallError(error);
    }
  }

  private channelId(channel: string): string {
    return this.channelIds.get(channel) ?? channel;
  }

  /** Waits for the channel's next free slot and takes it. */
  private async pace(channel: string): Promise<void> {
    const at = this.nextSlot.get(channel) ?? 0;
    const now = Date.now();
    if (at > now) await this.wait(at - now);
    this.nextSlot.set(channel, Math.max(at, now) + this.config.min_interval_ms);
  }

  private async wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    await delay(ms, undefined, this.signal ? { signal: this.signal } : {});
  }
}

/** Exponential backoff with full jitter on the upper half: base·2^(n-1), capped. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

interface CodedError {
  code?: unknown;
  retryAfter?: unknown;
  statusCode?: unknown;
  data?: { error?: unknown };
}

/** Classifies whatever @slack/web-api threw. */
export function asCallError(error: unknown): SlackCallError {
  if (error instanceof SlackCallError) return error;
  const coded = (error ?? {}) as CodedError;
  const message = errorMessage(error);
  switch (coded.code) {
    case ErrorCode.RateLimitedError: {
      const seconds = typeof coded.retryAfter === 'number' ? coded.retryAfter : 1;
      return new SlackCallError('rate_limited', 'ratelimited', message, Math.max(0, seconds) * 1000);
    }
    case ErrorCode.PlatformError: {
      const code = typeof coded.data?.error === 'string' ? coded.data.error : 'unknown_error';
      if (AMBIGUOUS_ERRORS.has(code)) return new SlackCallError('ambiguous', code, message);
      if (BLOCKING_ERRORS.has(code)) return new SlackCallError('blocked', code, message);
      return new SlackCallError('rejected', code, message);
    }
    case ErrorCode.HTTPError: {
      const status = typeof coded.statusCode === 'number' ? coded.statusCode : 0;
      // A 5xx may come after Slack did the work; any other status is a setup problem
      // (a wrong SLACK_API_URL, a proxy) that blocks every call.
      return new SlackCallError(status >= 500 || status === 408 ? 'ambiguous' : 'blocked', `http_${status}`, message);
    }
    default:
      // Timeouts, resets, DNS: the request may or may not have reached Slack.
      return new SlackCallError('ambiguous', 'network', message);
  }
}

/** The SDK's log lines, redacted, at debug level. */
function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-web-api' });
  const text = (parts: unknown[]) => redactText(parts.map((part) => (typeof part === 'string' ? part : errorMessage(part))).join(' '));
  let level = LogLevel.DEBUG;
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.debug(text(parts)),
    // The SDK warns on every failed request; the sender logs those itself, with context.
    warn: (...parts: unknown[]) => child.debug(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
