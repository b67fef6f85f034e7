import { z } from 'zod';
import { runDemo } from '@tokenwatch/demo';
import { parseFlags } from '../flags.js';
import { untilSignal, type CommandContext } from '../run.js';

export const demoFlags = z.object({
  rate: z.coerce.number().positive().max(100_000).optional(),
  clients: z.coerce.number().int().min(10).max(100_000),
  historyDays: z.coerce.number().min(0).max(60),
  attackEvery: z.coerce.number().min(0).max(1_440),
  seed: z.coerce.number().int(),
  idp: z.enum(['simulated', 'keycloak']),
  keycloakUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' }),
  keycloakLog: z.string().min(1),
});

/** `tokenwatch demo`: see services/demo. */
export async function demoCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  await runDemo(settings, parseFlags(demoFlags, flags), untilSignal());
}
