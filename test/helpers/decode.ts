import { decodeCanonical } from '@tokenwatch/ingest/decode';
import type { DecodeResult } from '@tokenwatch/ingest/results';

/** decodeCanonical for input that holds exactly one record. */
export function decodeOne(input: Buffer | string | null): DecodeResult {
  const results = decodeCanonical(input);
  if (results.length !== 1) throw new Error(`expected one result, got ${results.length}`);
  return results[0] as DecodeResult;
}
