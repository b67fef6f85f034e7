import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import type { Logger } from '@tokenwatch/shared/log';
import type { TapMetrics } from '@tokenwatch/shared/metrics';
import type { CidrSet } from '@tokenwatch/shared/net/cidr';
import { buildValidTapEvent } from './event.js';
import { appendPeer, believedHeaders } from './forwarding.js';

/** Request and response bodies are captured (for decoding) up to this size; beyond it they are only forwarded. */
export const CAPTURE_LIMIT = 64 * 1024;

// RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

function forwardHeaders(headers: IncomingHttpHeaders, drop: readonly string[] = []): OutgoingHttpHeaders {
  const named = new Set((headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()));
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Collects the first `limit` bytes of a stream; `complete` is false when more came. */
class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  complete = true;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (!this.complete) return;
    if (this.size + chunk.length > this.limit) {
      this.complete = false;
      this.chunks.push(chunk.subarray(0, this.limit - this.size));
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
  buffer(): Buffer | undefined {
    return this.complete ? Buffer.concat(this.chunks) : undefined;
  }
  /** The first `limit` bytes, complete or not. */
  prefix(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * The response body as text, for the error fields the event reports. Decompression stops at
 * the capture limit: a small compressed answer may inflate to gigabytes, and the error text
 * the tap looks for is a few hundred bytes. An answer beyond the limit reads as no text.
 */
export function decodeResponseBody(body: Buffer, encoding: string | undefined): string {
  const options = { maxOutputLength: CAPTURE_LIMIT };
  try {
    const coding = (encoding ?? '').trim().toLowerCase();
    if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(body, options).toString('utf8');
    if (coding === 'deflate') return inflateSync(body, options).toString('utf8');
    if (coding === 'br') return brotliDecompressSync(body, options).toString('utf8');
    return body.toString('utf8');
  } catch {
    return ''; // truncated, corrupt, or inflating beyond the limit
  }
}

/**
 * The upstream URL for a request target, or why the tap refuses it. Only origin-form targets
 * (RFC 9112 §3.2.1: a path starting with one "/") are forwarded. An absolute-form target
 * (`http://other-host/…`), a scheme-relative one (`//other-host/…`) or `/\other-host/…` (which
 * URL parsers read as `//`) would otherwise replace the upstream, and the tap would fetch any
 * host its network reaches and stream the answer back: an open proxy. The URL is the
 * upstream's origin plus the path, and its origin is checked again before anything is sent.
 */
export function upstreamTarget(requestTarget: string | undefined, upstream: URL): { url: URL } | { refused: string } {
  const target = requestTarget ?? '';
  if (!target.startsWith('/')) {
    return { refused: target === '*' ? 'an asterisk-form request target (*)' : 'an absolute-form request target (a URL with a scheme and host)' };
  }
  if (target.startsWith('//') || target.startsWith('/\\')) return { refused: 'a request target starting with "//" or "/\\" (read as another host)' };
  let url: URL;
  try {
    url = new URL(`${upstream.origin}${target}`);
  } catch {
    return { refused: 'a request target that is not a valid path' };
  }
  if (url.origin !== upstream.origin) return { refused: 'a request target that leads away from the upstream' };
  return { url };
}

/** How long and how much the tap waits for and accepts; every exchange is bounded by these. */
export interface ProxyLimits {
  /** From sending a request to the upstream's TCP connection being up. */
  readonly connectTimeoutMs: number;
  /** The whole exchange: from the request's arrival to the end of the upstream's answer. */
  readonly exchangeTimeoutMs: number;
  /** Open client connections; beyond it new connections are closed at once (and counted). */
  readonly maxConnections: number;
  /** Request body bytes; a larger body is answered 413 and not forwarded (or no further). */
  readonly maxRequestBytes: number;
}

export const DEFAULT_PROXY_LIMITS: ProxyLimits = {
  connectTimeoutMs: 5_000,
  exchangeTimeoutMs: 30_000,
  maxConnections: 1_000,
  maxRequestBytes: 1024 * 1024,
};

export interface ProxyOptions {
  readonly upstream: URL;
  readonly tenant: string;
  readonly trustedProxies: CidrSet;
  readonly limits?: Partial<ProxyLimits>;
  readonly logger: Logger;
  readonly metrics: Pick<TapMetrics, 'requests' | 'rejected' | 'upstreamErrors' | 'eventsInvalid'>;
  readonly onEvent: (event: TokenRequestInput) => void;
}

type Failure = { status: number; error: string; description: string };

function answer(res: ServerResponse, { status, error, description }: Failure, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, error_description: description });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(close ? { connection: 'close' } : {}) });
  res.end(body);
}

/**
 * A reverse proxy for the upstream's origin: each request goes to the same path and query on
 * the upstream, with its method, headers (minus hop-by-hop ones, minus forwarding ones from
 * untrusted peers, plus the peer in X-Forwarded-For; Host becomes the upstream's) and body
 * unchanged, and the response comes back the same way, streamed. Requests to the upstream's
 * token path (any method other than GET/HEAD/OPTIONS) are reported as events once the
 * response has been relayed. The body is forwarded as it arrives and captured on the side.
 * Only origin-form targets are forwarded (see upstreamTarget), and every exchange is bounded
 * in time and size (ProxyLimits).
 */
export function createTapServer(options: ProxyOptions): Server {
  const { upstream, logger, metrics } = options;
  const limits = { ...DEFAULT_PROXY_LIMITS, ...options.limits };
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const tokenPath = upstream.pathname;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const time = Date.now();
    const target = upstreamTarget(req.url, upstream);
    if ('refused' in target) {
      metrics.rejected.inc({ reason: 'target_not_origin_form' });
      logger.warn({ method: req.method, target: (req.url ?? '').slice(0, 256) }, 'tap refused a request target that is not a path on the upstream');
      answer(res, { status: 400, error: 'invalid_request', description: `the tap forwards only paths on its upstream (origin-form targets); this request has ${target.refused}` }, true);
      return;
    }
    const declaredLength = Number(req.headers['content-length'] ?? 0);
    if (declaredLength > limits.maxRequestBytes) {
      metrics.rejected.inc({ reason: 'body_too_large' });
      answer(res, { status: 413, error: 'invalid_request', description: `the request body is larger than the tap's limit of ${limits.maxRequestBytes} bytes` }, true);
      return;
    }
    const { url } = target;
    const reported = url.pathname === tokenPath && !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
    metrics.requests.inc({ endpoint: reported ? 'token' : 'other' });
    const peerAddress = req.socket.remoteAddress ?? '';
    const believed = believedHeaders(req.headers, peerAddress, options.trustedProxies);
    const requestCapture = new Capture(CAPTURE_LIMIT);

    // Set when the tap itself ends the exchange (a timeout, a body too large): the upstream
    // request's resulting error is then not another failure to answer or count.
    let failed = false;
    const fail = (failure: Failure, reason: string) => {
      if (failed) return;
      failed = true;
      clearTimeout(connectTimer);
      clearTimeout(exchangeTimer);
      logger.warn({ reason, upstream: upstream.origin }, 'tap ended an exchange');
      answer(res, failure, true);
      upstreamReq.destroy();
    };
    const timedOut = (what: string) => () => {
      metrics.upstreamErrors.inc();
      fail({ status: 504, error: 'temporarily_unavailable', description: `the upstream token endpoint ${what}` }, what);
    };
    const connectTimer = setTimeout(timedOut(`did not accept a connection within ${limits.connectTimeoutMs} ms`), limits.connectTimeoutMs);
    const exchangeTimer = setTimeout(timedOut(`did not answer within ${limits.exchangeTimeoutMs} ms`), limits.exchangeTimeoutMs);

    const headers = appendPeer(forwardHeaders(believed, ['host']), believed, peerAddress);
    const upstreamReq = send(url, { method: req.method, headers }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardHeaders(upstreamRes.headers));
      const responseCapture = new Capture(CAPTURE_LIMIT);
      if (reported) upstreamRes.on('data', (chunk: Buffer) => responseCapture.add(chunk));
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => {
        clearTimeout(exchangeTimer);
        if (failed) return;
        metrics.upstreamErrors.inc();
        res.destroy();
      });
      upstreamRes.on('end', () => {
        clearTimeout(exchangeTimer);
        if (!reported || failed) return;
        try {
          const built = buildValidTapEvent({
            eventId: randomUUID(),
            time,
            tenant: options.tenant,
            peerAddress,
            headers: believed,
            body: requestCapture.buffer(),
            status: upstreamRes.statusCode ?? 0,
            responseBody: decodeResponseBody(responseCapture.prefix(), upstreamRes.headers['content-encoding']),
            trustedProxies: options.trustedProxies,
          });
          if ('event' in built) options.onEvent(built.event);
          else {
            metrics.eventsInvalid.inc();
            logger.warn({ reason: built.error }, 'tap could not build a valid event for a token request');
          }
        } catch (error) {
          metrics.eventsInvalid.inc();
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'tap event builder failed');
        }
      });
    });
    upstreamReq.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => clearTimeout(connectTimer));
      else clearTimeout(connectTimer); // a kept-alive connection
    });

    upstreamReq.on('error', (error) => {
      clearTimeout(connectTimer);
      clearTimeout(exchangeTimer);
      if (failed) return;
      metrics.upstreamErrors.inc();
      logger.warn({ err: error.message, upstream: upstream.origin }, 'tap cannot reach the upstream');
      answer(res, { status: 502, error: 'temporarily_unavailable', description: 'the upstream token endpoint could not be reached' });
    });
    // A client that goes away mid-exchange takes the upstream request with it.
    res.on('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(exchangeTimer);
      if (!res.writableFinished) upstreamReq.destroy();
    });

    let received = 0;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      received += chunk.length;
      if (received > limits.maxRequestBytes) {
        req.unpipe(upstreamReq);
        metrics.rejected.inc({ reason: 'body_too_large' });
        fail({ status: 413, error: 'invalid_request', description: `the request body is larger than the tap's limit of ${limits.maxRequestBytes} bytes` }, 'body_too_large');
        return;
      }
      if (reported) requestCapture.add(chunk);
    });
    req.pipe(upstreamReq);
  });

  server.maxConnections = limits.maxConnections;
  server.on('drop', () => metrics.rejected.inc({ reason: 'connection_limit' }));
  // A client must send its request within the exchange's time, headers first.
  server.requestTimeout = limits.exchangeTimeoutMs;
  server.headersTimeout = Math.min(limits.exchangeTimeoutMs, 10_000);
  return server;
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
