import { z } from 'zod';

/**
 * The `notify` section of the configuration file: where alerts go. Owned by the notifier
 * (services/notifier); see README "Alerts in Slack".
 */
export const notifyConfigSchema = z.strictObject({});

export type NotifyConfig = z.output<typeof notifyConfigSchema>;
