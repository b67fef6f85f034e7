import type { Writable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { NotifyConfig } from './config.js';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError, DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { redactText } from '@tokenwatch/shared/redact';
import { createNotifierMetrics } from '@tokenwatch/shared/metrics';
import { AlertFeed, type SinkRound } from './feed.js';
import { Ledger } from './ledger.js';
import { assertEveryAlertRoutable } from './routing.js';
import { TransientDeliveryError } from './delivery-error.js';
import { SlackCallError, SlackSender } from './slack-sender.js';
import { SlackSink } from './slack-sink.js';
import { resolveSlackToken } from './slack-token.js';
import { JsonLinesSink, TerminalSink, WebhookSink, type AlertSink } from './sinks.js';
import type { Registry } from 'prom-client';

/** Longest pause between two failed rounds. */
const ROUND_RETRY_MAX_MS = 30_000;

export interface NotifierService {
  /** Settles when the notifier stops: resolves after `stop()`, rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Finishes the round in progress (waits are cut short) and stops polling. */
  stop(): Promise<void>;
  /** Delivers everything pending now; rejects with a DependencyError when a sink cannot. */
  runOnce(): Promise<SinkRound[]>;
  /** Sink names in use: `slack` or `terminal`, plus `jsonl` and `webhook` when configured. */
  readonly sinks: readonly string[];
}

/**
 * The notifier: polls the alerts table and delivers each alert version to Slack (or, with no
 * token, to the terminal), plus a JSON-lines file and a webhook when configured, each exactly
 * once as far as the ledger can tell. All the pieces live in @tokenwatch/shared/notify.
 */
export async function startNotifier(options: {
  settings: Settings;
  config: { notify: NotifyConfig };
  logger: Logger;
  clickhouse: ClickHouseClient;
  registry: Registry;
  /** Poll every notify.poll_interval_ms (default); false for `notify --once` and tests. */
  poll?: boolean;
  /** Where the terminal sink writes; stdout by default. */
  output?: Writable;
}): Promise<NotifierService> {
  const { settings, clickhouse, registry } = options;
  const config = options.config.notify;
  const logger = options.logger.child({ component: 'notifier' });
  const metrics = createNotifierMetrics(registry);
  const ledger = new Ledger(clickhouse);
  const abort = new AbortController();
  const common = { ledger, logger, metrics, runbookBaseUrl: config.runbook_base_url };

  const sinks: AlertSink[] = [];
  const token = resolveSlackToken(settings);
  if (token) {
    assertEveryAlertRoutable(config.routes, settings.SLACK_CHANNEL);
    const sender = new SlackSender({ token, apiUrl: settings.SLACK_API_URL, config: config.slack, logger, metrics, signal: abort.signal });
    await checkToken(sender, logger);
    const slack = { sender, ledger, config, defaultChannel: settings.SLACK_CHANNEL, logger, metrics };
    sinks.push(new SlackSink(slack));
    // Critical alerts routed to a client's (or a route's) channel are copied to SLACK_CHANNEL.
    if (settings.SLACK_CHANNEL) sinks.push(new SlackSink({ ...slack, role: 'slack_copy' }));
  } else {
    if (settings.SLACK_CHANNEL || config.routes.length > 0) {
      logger.warn('Slack channels are configured but no SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE: alerts go to the terminal');
    }
    sinks.push(new TerminalSink(common, options.output ?? process.stdout));
  }
  if (settings.TOKENWATCH_ALERTS_FILE) sinks.push(new JsonLinesSink(common, settings.TOKENWATCH_ALERTS_FILE));
  if (settings.TOKENWATCH_WEBHOOK_URL) sinks.push(new WebhookSink(common, settings.TOKENWATCH_WEBHOOK_URL, config.webhook, abort.signal));

  const feed = new AlertFeed({ ledger, sinks, config, logger, metrics });
  // One round at a time: the poll loop and runOnce share the feed's cursors and Slack pacing.
  let queue: Promise<unknown> = Promise.resolve();
  const round = (): Promise<SinkRound[]> => {
    const next = queue.then(() => feed.round());
    queue = next.catch(() => undefined);
    return next;
  };

  let stopping = false;
  let wake: (() => void) | undefined;
  // A round that fails (ClickHouse unreachable for a moment, a full disk, a bug in one alert's
  // path) is retried at the next poll with a growing pause, so a blip never stops the service:
  // alerts stay pending in ClickHouse, which is what makes the retry safe. Only configuration
  // the operator must fix (a token Slack refuses) ends the notifier.
  let failedRounds = 0;
  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        await round();
        failedRounds = 0;
      } catch (error) {
        if (stopping && abort.signal.aborted) break;
        if (error instanceof ConfigError) throw error;
        failedRounds += 1;
        metrics.roundErrors.inc();
        logger.error({ err: redactText(errorMessage(error)), failed_rounds: failedRounds }, 'notifier round failed; alerts stay pending, retrying');
      }
      const pause = Math.min(config.poll_interval_ms * 2 ** Math.min(failedRounds, 6), Math.max(config.poll_interval_ms, ROUND_RETRY_MAX_MS));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const done = options.poll === false ? new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve())) : loop();
  logger.info({ sinks: sinks.map((sink) => sink.name), channel: token ? settings.SLACK_CHANNEL : undefined, routes: config.routes.length }, 'notifier started');

  return {
    done,
    sinks: sinks.map((sink) => sink.name),
    runOnce: async () => {
      const results = await round();
      const failed = results.find((result) => result.error);
      if (failed) throw new DependencyError(`notify: ${failed.sink} delivery failed, alerts stay pending: ${failed.error}`);
      return results;
    },
    stop: async () => {
      stopping = true;
      abort.abort();
      wake?.();
      await done.catch(() => undefined);
      await queue;
    },
  };
}

/**
 * A refused token is a configuration error at start-up (one line, exit 1). Slack being
 * unreachable is not: alerts wait in the ledger's feed until it answers.
 */
async function checkToken(sender: SlackSender, logger: Logger): Promise<void> {
  try {
    const { team, user } = await sender.authTest();
    logger.info({ team, user }, 'Slack token accepted');
  } catch (error) {
    if (error instanceof SlackCallError && (error.kind === 'blocked' || error.kind === 'rejected')) {
      throw new ConfigError(`Slack refused auth.test (${error.code}): check SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, and SLACK_API_URL when set`);
    }
    const code = error instanceof SlackCallError || error instanceof TransientDeliveryError ? error.code : 'network';
    logger.warn({ error: code }, 'cannot reach Slack at start-up; alerts stay pending until it answers');
  }
}
