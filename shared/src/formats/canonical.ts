import type { FormatAdapter } from './types.js';

/** TokenRequest v1 JSON, as gateways and `tokenwatch produce` send it: passed through as is. */
export const canonicalFormat: FormatAdapter = {
  name: 'canonical',
  matches: (record) => typeof record.event_id === 'string' && typeof record.idp === 'string' && 'source_ip' in record,
  adapt: (record) => [{ kind: 'event', event: record }],
};
