import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { createTapMetrics, type Registry } from '@tokenwatch/shared/metrics';
import { CidrSet } from '@tokenwatch/shared/net/cidr';
import { startOpsServer, type OpsServer } from '@tokenwatch/shared/http/ops-server';
import { createTapServer, listen, type ProxyLimits } from './proxy.js';
import { KafkaEventSink, type SinkStats } from './sink.js';

export { buildTapEvent, buildValidTapEvent, isReplayMessage, sourceIp, basicUsername, REPLAY_PATTERNS, type ObservedExchange } from './event.js';
export { CidrSet, normaliseIp } from '@tokenwatch/shared/net/cidr';
export { decodeJwtUnverified } from './jwt.js';
export { KafkaEventSink, MAX_BATCH_BYTES, type SinkStats } from './sink.js';
export { CAPTURE_LIMIT, DEFAULT_PROXY_LIMITS, decodeResponseBody, upstreamTarget, type ProxyLimits } from './proxy.js';
export { appendPeer, believedHeaders, FORWARDING_HEADERS } from './forwarding.js';

export interface TapOptions {
  /** The upstream token endpoint, e.g. https://idp.example.com/oauth2/token. */
  readonly upstream: string | URL;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Peers whose forwarding headers (X-Forwarded-For, Forwarded, …) are believed and passed on (CIDR ranges or addresses); none by default. */
  readonly trustedProxies?: readonly string[];
  /** Tenant of the events; the upstream's origin by default. */
  readonly tenant?: string;
  readonly settings: Settings;
  readonly logger: Logger;
  /** Where the tap registers its instruments (tokenwatch_tap_*), as the ingest worker does. */
  readonly registry: Registry;
  /** Topic for the events; TOKENWATCH_TOPIC by default. */
  readonly topic?: string;
  /** Events held in memory while Kafka is slow or down; the oldest are dropped beyond it. */
  readonly queueCapacity?: number;
  /** Timeouts and size limits of the proxy; DEFAULT_PROXY_LIMITS for what is not given. */
  readonly limits?: Partial<ProxyLimits>;
  /** Where to serve /healthz, /readyz and /metrics (the registry); not served when absent. */
  readonly ops?: { readonly host: string; readonly port: number; readonly portSetting: string };
  /** Key and value bytes per Kafka produce request (MAX_BATCH_BYTES by default). */
  readonly maxBatchBytes?: number;
}

export interface TapService {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** The port of /metrics and /healthz, when served. */
  readonly opsPort?: number;
  stats(): SinkStats;
  /** Stops accepting connections, waits for open exchanges, then delivers queued events for up to `flushTimeoutMs`. */
  close(flushTimeoutMs?: number): Promise<void>;
}

export function parseUpstream(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(`invalid upstream ${JSON.stringify(String(value))}: expected an http(s):// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`invalid upstream ${JSON.stringify(String(value))}: expected an http(s):// URL`);
  if (url.username || url.password) throw new ConfigError('invalid upstream: credentials in the URL are not supported');
  return url;
}

/** The tap: a reverse proxy for a token endpoint that publishes a TokenRequest per token request. */
export async function startTap(options: TapOptions): Promise<TapService> {
  const upstream = parseUpstream(options.upstream);
  const trustedProxies = new CidrSet(options.trustedProxies ?? [], 'trusted proxy');
  const logger = options.logger.child({ component: 'tap' });
  const topic = options.topic ?? options.settings.TOKENWATCH_TOPIC;
  const metrics = createTapMetrics(options.registry);
  const sink = new KafkaEventSink({
    settings: options.settings,
    logger,
    metrics,
    topic,
    capacity: options.queueCapacity ?? 10_000,
    ...(options.maxBatchBytes ? { maxBatchBytes: options.maxBatchBytes } : {}),
  });
  const server = createTapServer({
    upstream,
    tenant: options.tenant ?? upstream.origin,
    trustedProxies,
    ...(options.limits ? { limits: options.limits } : {}),
    logger,
    metrics,
    onEvent: (event) => sink.push({ key: event.client_id, value: JSON.stringify(event) }),
  });
  const address = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  let ops: OpsServer | undefined;
  try {
    // No readiness checks: the tap serves traffic whether Kafka is up or not (its queue and
    // tokenwatch_tap_queue_depth tell that story); /readyz is ready while the proxy listens.
    if (options.ops) ops = await startOpsServer({ ...options.ops, registry: options.registry, checks: {}, logger });
  } catch (error) {
    server.close();
    throw error;
  }
  sink.start();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ listen: `${host}:${address.port}`, upstream: upstream.href, topic, trustedProxies: trustedProxies.size }, 'tap listening');
  return {
    host: address.address,
    port: address.port,
    url: `http://${host}:${address.port}`,
    ...(ops ? { opsPort: ops.port } : {}),
    stats: () => sink.stats(),
    close: async (flushTimeoutMs = 5_000) => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await sink.close(flushTimeoutMs);
      await ops?.close();
    },
  };
}
