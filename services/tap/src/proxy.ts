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

function decodeResponseBody(body: Buffer, encoding: string | undefined): string {
  try {
    const coding = (encoding ?? '').trim().toLowerCase();
    if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(body).toString('utf8');
    if (coding === 'deflate') return inflateSync(body).toString('utf8');
    if (coding === 'br') return brotliDecompressSync(body).toString('utf8');
    return body.toString('utf8');
  } catch {
    return '';
  }
}

export interface ProxyOptions {
  readonly upstream: URL;
  readonly tenant: string;
  readonly trustedProxies: CidrSet;
  readonly logger: Logger;
  readonly metrics: Pick<TapMetrics, 'requests' | 'upstreamErrors' | 'eventsInvalid'>;
  readonly onEvent: (event: TokenRequestInput) => void;
}

/**
 * A reverse proxy for the upstream's origin: each request goes to the same path and query on
 * the upstream, with its method, headers (minus hop-by-hop ones; Host becomes the upstream's)
 * and body unchanged, and the response comes back the same way, streamed. Requests to the
 * upstream's token path (any method other than GET/HEAD/OPTIONS) are reported as events once
 * the response has been relayed. The body is forwarded as it arrives and captured on the side.
 */
export function createTapServer(options: ProxyOptions): Server {
  const { upstream, logger, metrics } = options;
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const tokenPath = upstream.pathname;

  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const time = Date.now();
    const target = new URL(req.url ?? '/', upstream.origin);
    const reported = target.pathname === tokenPath && !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
    metrics.requests.inc({ endpoint: reported ? 'token' : 'other' });
    const requestCapture = new Capture(CAPTURE_LIMIT);

    const upstreamReq = send(target, { method: req.method, headers: forwardHeaders(req.headers, ['host']) }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardHeaders(upstreamRes.headers));
      const responseCapture = new Capture(CAPTURE_LIMIT);
      if (reported) upstreamRes.on('data', (chunk: Buffer) => responseCapture.add(chunk));
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => {
        metrics.upstreamErrors.inc();
        res.destroy();
      });
      if (!reported) return;
      upstreamRes.on('end', () => {
        try {
          const built = buildValidTapEvent({
            eventId: randomUUID(),
            time,
            tenant: options.tenant,
            peerAddress: req.socket.remoteAddress ?? '',
            headers: req.headers,
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

    upstreamReq.on('error', (error) => {
      metrics.upstreamErrors.inc();
      logger.warn({ err: error.message, upstream: upstream.origin }, 'tap cannot reach the upstream');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'the upstream token endpoint could not be reached' }));
      } else res.destroy();
    });
    // A client that goes away mid-exchange takes the upstream request with it.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });

    if (reported) req.on('data', (chunk: Buffer) => requestCapture.add(chunk));
    req.pipe(upstreamReq);
  });
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
