/**
 * Produce requests the broker accepts. kafkajs sends all messages for one partition of one
 * `send` in one record batch, and the broker refuses a batch over the topic's
 * max.message.bytes (1 MiB by default) with MESSAGE_TOO_LARGE, which no retry fixes: so every
 * producer cuts its sends by size as well as by count, with the one chunker here.
 */

/** Bytes per produce request: half the broker's default limit, leaving room for headers and framing. */
export const MAX_REQUEST_BYTES = 512 * 1024;
/** Per-record framing (lengths, offsets, attributes) counted on top of key, value and headers. */
export const RECORD_OVERHEAD_BYTES = 64;

export interface RequestLimits {
  readonly maxBytes: number;
  /** Messages per request; unbounded when left out. */
  readonly maxCount?: number;
}

/**
 * Where the request that starts at `items[start]` ends (exclusive): as many items as fit
 * `limits`, and at least one, so an item larger than maxBytes goes alone (the caller decides
 * what to do when the broker refuses it).
 */
export function requestEnd<T>(items: readonly T[], start: number, bytesOf: (item: T) => number, limits: RequestLimits): number {
  const maxCount = limits.maxCount ?? Number.POSITIVE_INFINITY;
  let end = start;
  let bytes = 0;
  while (end < items.length && end - start < maxCount) {
    const size = bytesOf(items[end] as T);
    if (end > start && bytes + size > limits.maxBytes) break;
    bytes += size;
    end += 1;
  }
  return end;
}

/** Consecutive requests within `limits`, in order (an item larger than maxBytes goes alone). */
export function chunkByBytes<T>(items: readonly T[], bytesOf: (item: T) => number, limits: RequestLimits): T[][] {
  const requests: T[][] = [];
  for (let start = 0; start < items.length; ) {
    const end = requestEnd(items, start, bytesOf, limits);
    requests.push(items.slice(start, end));
    start = end;
  }
  return requests;
}

/** The broker refused a request for its size; kafkajs may wrap the protocol error (retries, aggregates). */
export function isMessageTooLarge(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { type, cause, errors } = error as { type?: unknown; cause?: unknown; errors?: unknown };
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
  if (isMessageTooLarge(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((inner) => isMessageTooLarge(inner, depth + 1));
}
