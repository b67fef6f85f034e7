import { redactText } from '@tokenwatch/shared/redact';

/**
 * Delivery cannot proceed now (Slack or a webhook unreachable or refusing every attempt, a
 * file not writable): the alert stays pending and a later round tries again. The one
 * "transient" error of every sink; `code` is Slack's error code where there is one.
 */
export class TransientDeliveryError extends Error {
  override readonly name = 'TransientDeliveryError';
  constructor(message: string, readonly code = 'unavailable') {
    super(redactText(message));
  }
}

export function isTransient(error: unknown): error is TransientDeliveryError {
  return error instanceof TransientDeliveryError;
}
