import type { FormatAdapter } from './types.js';
import { candidate } from './fields.js';

/** TokenRequest v1 JSON, as gateways and `tokenwatch produce` send it: passed through as is. */
export const canonicalFormat: FormatAdapter = {
  name: 'canonical',
  // The record is the event: its validated fields are the row, and nothing else of it is kept
  // (its results carry no `raw`, so the column stays empty rather than repeating the row).
  rawFields: [],
  // No vendor format has both keys; everything else about the record is the schema's to judge.
  matches: (record) => 'event_id' in record && 'idp' in record,
  adapt: (record) => [candidate(record)],
};
