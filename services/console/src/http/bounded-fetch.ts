/**
 * fetch for the IdP's documents (discovery, JWKS, token answers): every call has a deadline and
 * every answer a size bound, so a slow, hung or hostile IdP (or whatever answers at its
 * address) costs a bounded wait and bounded memory, never a hung sign-in or an exhausted heap.
 */

/** Discovery documents and JWKS are a few KiB; a token answer a few. 256 KiB is far beyond any real one. */
export const IDP_MAX_RESPONSE_BYTES = 256 * 1024;
/** A loaded IdP answers within seconds; a hung one must not hold a browser's sign-in open. */
export const IDP_TIMEOUT_MS = 10_000;

export class ResponseTooLarge extends Error {}

export type BoundedFetch = (url: string, options: RequestInit) => Promise<Response>;

export function boundedFetch(maxBytes = IDP_MAX_RESPONSE_BYTES, timeoutMs = IDP_TIMEOUT_MS): BoundedFetch {
  return async (url, options) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const response = await fetch(url, { ...options, signal });
    const body = await readAtMost(response, maxBytes, url);
    // A new Response over the bytes read: the library parses it as it would the original.
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

async function readAtMost(response: Response, maxBytes: number, url: string): Promise<Uint8Array | null> {
  if (response.body === null) return null;
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body.cancel();
    throw new ResponseTooLarge(`${new URL(url).origin} answered with ${declared} bytes (at most ${maxBytes} are read)`);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ResponseTooLarge(`${new URL(url).origin} answered with more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
