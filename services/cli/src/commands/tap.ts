import { z } from 'zod';
import { startTap } from '@tokenwatch/tap';
import { ConfigError } from '@tokenwatch/shared/errors';
import { createRegistry } from '@tokenwatch/shared/metrics';
import { listenFlag, parseFlags } from '../flags.js';
import { untilSignal, type CommandContext } from '../run.js';

const tapFlags = z.object({
  upstream: z.url({ protocol: /^https?$/, error: 'expected the http(s):// URL of the token endpoint' }),
  listen: listenFlag,
  trustedProxy: z.array(z.string().min(1).max(64)).max(1_000),
  tenant: z.string().min(1).max(256).optional(),
  /** /healthz, /readyz and /metrics, or `off`. */
  opsListen: z.union([z.literal('off'), listenFlag]),
});

/**
 * `tokenwatch tap --upstream <token endpoint> [--listen host:port]`: a reverse proxy in front
 * of a token endpoint that publishes one TokenRequest per token request to TOKENWATCH_TOPIC,
 * until SIGTERM/SIGINT. Kafka being down never affects the proxied traffic.
 */
export async function tapCommand({ settings, logger }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(tapFlags, flags);
  const { host, port } = options.listen;
  const ops = options.opsListen === 'off' ? undefined : { ...options.opsListen, portSetting: '--ops-listen' };
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
      throw new ConfigError(`cannot listen on ${host}:${port}: ${code}`);
    }
    throw error;
  }
  process.stdout.write(`tap listening on ${tap.url}, forwarding to ${options.upstream}${tap.opsPort === undefined ? '' : `; /metrics and /healthz on port ${tap.opsPort}`}\n`);
  const signal = await untilSignal();
  logger.info({ signal, ...tap.stats() }, 'tap stopping: delivering queued events');
  await tap.close();
  logger.info(tap.stats(), 'tap stopped');
}
