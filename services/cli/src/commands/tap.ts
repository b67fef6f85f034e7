import { startTap } from '@tokenwatch/tap';
import { ConfigError } from '@tokenwatch/shared/errors';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { untilSignal, type CommandContext } from '../run.js';

export interface TapCommandOptions {
  upstream: string;
  listen: string;
  trustedProxy: string[];
  tenant?: string;
  /** host:port of /healthz, /readyz and /metrics, or `off`. */
  opsListen: string;
}

/** `host:port` or `[ipv6]:port`. */
export function parseListen(value: string, option = '--listen'): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!match || !host || !(port >= 0 && port <= 65_535)) throw new ConfigError(`invalid ${option} ${JSON.stringify(value)}: expected host:port`);
  return { host, port };
}

/**
 * `tokenwatch tap --upstream <token endpoint> [--listen host:port]`: a reverse proxy in front
 * of a token endpoint that publishes one TokenRequest per token request to TOKENWATCH_TOPIC,
 * until SIGTERM/SIGINT. Kafka being down never affects the proxied traffic.
 */
export async function tapCommand({ settings, logger }: CommandContext, options: TapCommandOptions): Promise<void> {
  const { host, port } = parseListen(options.listen);
  const ops = options.opsListen.trim() === 'off' ? undefined : { ...parseListen(options.opsListen, '--ops-listen'), portSetting: '--ops-listen' };
  let tap;
  try {
    tap = await startTap({
      upstream: options.upstream,
      host,
      port,
      trustedProxies: options.trustedProxy,
      ...(options.tenant ? { tenant: options.tenant } : {}),
      ...(ops ? { ops } : {}),
      settings,
      logger,
      registry: createRegistry(),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(`cannot listen on ${options.listen}: ${code}`);
    }
    throw error;
  }
  process.stdout.write(`tap listening on ${tap.url}, forwarding to ${options.upstream}${tap.opsPort === undefined ? '' : `; /metrics and /healthz on port ${tap.opsPort}`}\n`);
  const signal = await untilSignal();
  logger.info({ signal, ...tap.stats() }, 'tap stopping: delivering queued events');
  await tap.close();
  logger.info(tap.stats(), 'tap stopped');
}
