import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DependencyError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * A readiness check: resolves to undefined when fine, or to a short reason when not. It must
 * not throw (a throw counts as failing with its message) and should answer within a second or
 * two: orchestrators time their probes out.
 */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface OpsServer {
  /** The port actually bound (0 picks a free one). */
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** A check that hangs (a stuck ClickHouse) must fail the probe, not hang it. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * The operational endpoints on one small HTTP server:
 *
 * - `GET /healthz`: 200 while the process serves requests at all (liveness: restart me if not);
 * - `GET /readyz`: 200 when every readiness check passes, else 503 with a JSON body naming the
 *   failing checks (readiness: do not count on me yet, e.g. ClickHouse down, consumer not in
 *   its group);
 * - `GET /metrics`: the Prometheus registry in its text format;
 * - anything else: `app` when given (the console), else 404.
 *
 * Nothing here reads request bodies or echoes settings, so no secret can leak through it (the
 * console `app` reads small JSON bodies behind its own sign-in: services/console).
 * Shared (not in the server package) because `tokenwatch tap` serves its metrics with it too,
 * and the tap must not depend on the server's ClickHouse, detector and notifier packages.
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  checks: Readonly<Record<string, ReadinessCheck>>;
  logger: Logger;
  /** The setting that chose the port, named in the error when it is taken, e.g. "TOKENWATCH_HTTP_PORT". */
  portSetting: string;
  /**
   * Answers every other path (the console of `tokenwatch start`), with its own methods and
   * headers; without it they are 404. The three endpoints above stay as they are either way.
   */
  app?: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
}): Promise<OpsServer> {
  const { registry, checks, logger } = options;
  const json = (status: number, body: unknown) => ({ status, type: 'application/json; charset=utf-8', text: `${JSON.stringify(body)}\n` });

  async function readiness() {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
        });
        try {
          const failure = await Promise.race([check().catch((error: unknown) => errorMessage(error)), timeout]);
          return [name, failure ?? 'ok'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ready = results.every(([, result]) => result === 'ok');
    return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  }

  async function route(method: string | undefined, path: string) {
    if (method !== 'GET' && method !== 'HEAD') return json(405, { error: 'method not allowed' });
    switch (path) {
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz':
        return readiness();
      case '/metrics':
        return { status: 200, type: registry.contentType, text: await registry.metrics() };
      default:
        return json(404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics'] });
    }
  }

  const OWN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
  const { app } = options;

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (app && !OWN_PATHS.has(path)) {
      app(request, response).catch((error: unknown) => {
        logger.error({ path, err: errorMessage(error) }, 'http app failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end();
      });
      return;
    }
    route(request.method, path)
      .catch((error: unknown) => {
        logger.error({ path, err: errorMessage(error) }, 'ops endpoint failed');
        return json(500, { error: 'internal error' });
      })
      .then(({ status, type, text }) => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      })
      .catch(() => undefined); // the client went away
  });
  // Probes and scrapes are short; an idle keep-alive socket must not hold up a shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? `the port is in use (set ${options.portSetting} to another port, 0 for any, or off)` : errorMessage(error);
      reject(new DependencyError(`cannot serve /healthz, /readyz and /metrics on ${options.host}:${options.port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ host: options.host, port }, 'serving /healthz, /readyz and /metrics');

  return {
    port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
