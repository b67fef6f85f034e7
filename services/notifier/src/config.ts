import { z } from 'zod';
import { SEVERITIES } from '@tokenwatch/shared/alerts/alert';
import { FINDINGS } from '@tokenwatch/detector/findings';

/**
 * The `notify` section of the configuration file: where alerts go and how hard the notifier
 * tries. Owned by the notifier (services/notifier); docs/notifier.md explains every key.
 * Everything has a default, so Slack works with SLACK_BOT_TOKEN and SLACK_CHANNEL alone.
 */

// A Slack channel id (C…, G…) or a name with or without '#'; Slack resolves names itself.
const channel = z.string().trim().min(1, 'expected a channel id or #name').max(80);

// A route naming a finding no detector raises would never match: a typo, or a finding renamed.
const finding = z.string().refine((name) => FINDINGS.get(name) !== undefined, {
  error: (issue) => `unknown finding ${JSON.stringify(issue.input)}: expected one of ${FINDINGS.names.join(', ')}`,
});

/**
 * One routing rule. Every condition given must hold; a rule with no condition matches every
 * alert (a catch-all). The first matching rule wins, and an alert no rule matches goes to
 * SLACK_CHANNEL.
 */
export const notifyRouteSchema = z.strictObject({
  channel,
  severities: z.array(z.enum(SEVERITIES)).min(1).optional(),
  // At or above this severity (info < low < medium < high < critical).
  min_severity: z.enum(SEVERITIES).optional(),
  findings: z.array(finding).min(1).optional(),
  tenants: z.array(z.string().min(1)).min(1).optional(),
});

export type NotifyRoute = z.output<typeof notifyRouteSchema>;

const ms = (fallback: number, max = 600_000) => z.number().int().min(0).max(max).default(fallback);

export const slackDeliveryConfigSchema = z.strictObject({
  // A request Slack has not answered by then counts as ambiguous (it may have been posted).
  timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  // Slack allows about one message per second per channel; chat.update is paced the same way.
  min_interval_ms: ms(1_000),
  // Attempts per message before the notifier gives up for this round and retries next poll.
  max_attempts: z.number().int().min(1).max(20).default(5),
  backoff_base_ms: ms(1_000),
  backoff_max_ms: ms(30_000),
  // After an ambiguous failure, how long to wait before searching the channel for the message
  // (Slack may still be processing the request that timed out).
  lookup_delay_ms: ms(2_000),
  // Repeats of one alert post at most one thread reply per interval; the root is updated
  // every time. Escalation, resolution and re-firing always reply.
  repeat_reply_interval_seconds: z.number().int().min(0).default(300),
});

export const webhookDeliveryConfigSchema = z.strictObject({
  timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  max_attempts: z.number().int().min(1).max(20).default(5),
  backoff_base_ms: ms(1_000),
  backoff_max_ms: ms(30_000),
});

export const notifyConfigSchema = z.strictObject({
  routes: z.array(notifyRouteSchema).default([]),
  // More new alerts than this for one channel within a minute become one digest message with
  // the alerts in its thread.
  digest_threshold: z.number().int().min(1).default(20),
  // Where docs/detectors.md is published, e.g. https://github.com/acme/tokenwatch/blob/main/docs/detectors.md;
  // unset shows the path as text.
  runbook_base_url: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }).optional(),
  poll_interval_ms: z.number().int().min(50).max(600_000).default(1_000),
  // How far back the first poll after start-up looks for alerts not yet delivered.
  catch_up_hours: z.number().positive().max(24 * 90).default(24 * 7),
  // Re-read alerts changed this long before the last one handled: a detector's insert can
  // become visible after a later one (clocks, concurrent writers). The ledger filters repeats.
  overlap_seconds: z.number().int().min(0).max(86_400).default(300),
  slack: slackDeliveryConfigSchema.prefault({}),
  webhook: webhookDeliveryConfigSchema.prefault({}),
});

export type NotifyConfig = z.output<typeof notifyConfigSchema>;
export type SlackDeliveryConfig = z.output<typeof slackDeliveryConfigSchema>;
export type WebhookDeliveryConfig = z.output<typeof webhookDeliveryConfigSchema>;
