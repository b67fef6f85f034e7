import { canonicalFormat } from './canonical.js';
import type { FormatAdapter } from './types.js';

/**
 * Every format tokenwatch reads, in auto-detection order. Canonical comes first: its test
 * (event_id and idp keys) is the cheapest and matches no vendor's records.
 */
export const FORMATS: readonly FormatAdapter[] = [canonicalFormat];
