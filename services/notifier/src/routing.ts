import { severityRank, type StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { ConfigError } from '@tokenwatch/shared/errors';
import type { NotifyRoute } from './config.js';

/**
 * Picks the Slack channel for an alert: its client's channel from the inventory (stamped on
 * the alert), else the first matching route, else the default channel. The client's own
 * channel comes first because its owners are the ones who can tell a leak from a deploy; a
 * critical alert also goes to the default channel (SlackSink's `slack_copy` role).
 */
export function routeAlert(
  alert: Pick<StoredAlert, 'severity' | 'finding' | 'tenant' | 'slack_channel'>,
  routes: readonly NotifyRoute[],
  defaultChannel: string | undefined,
): string | undefined {
  if (alert.slack_channel) return alert.slack_channel;
  for (const route of routes) {
    if (matches(alert, route)) return route.channel;
  }
  return defaultChannel;
}

function matches(alert: Pick<StoredAlert, 'severity' | 'finding' | 'tenant'>, route: NotifyRoute): boolean {
  if (route.severities && !route.severities.includes(alert.severity)) return false;
  if (route.min_severity && severityRank(alert.severity) < severityRank(route.min_severity)) return false;
  if (route.findings && !route.findings.includes(alert.finding)) return false;
  if (route.tenants && !route.tenants.includes(alert.tenant)) return false;
  return true;
}

/**
 * With Slack configured every alert must have somewhere to go: a default channel or a
 * catch-all route. Checked at start-up so a gap is a configuration error, not a lost alert.
 */
export function assertEveryAlertRoutable(routes: readonly NotifyRoute[], defaultChannel: string | undefined): void {
  if (defaultChannel) return;
  const catchAll = routes.some((route) => !route.severities && !route.min_severity && !route.findings && !route.tenants);
  if (!catchAll) {
    throw new ConfigError('SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: set it, or end notify.routes with a rule that has only a channel');
  }
}
