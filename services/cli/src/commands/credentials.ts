import { createInterface } from 'node:readline';
import { z } from 'zod';
import { CREDENTIALS_LIST, credentialReport, credentialRowSchema, credentialsParams, MAX_CREDENTIALS, renderCredentialPlain } from '@tokenwatch/server/credentials';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { parseFlags } from '../flags.js';
import type { CommandContext } from '../run.js';

const limitMessage = `expected a whole number from 1 to ${MAX_CREDENTIALS}`;
const credentialsFlags = z.object({
  limit: z.coerce
    .number({ error: limitMessage })
    .int(limitMessage)
    .min(1, limitMessage)
    .max(MAX_CREDENTIALS, `at most ${MAX_CREDENTIALS}: narrow with --tenant and --client`),
  tenant: z.string().min(1).max(1024).optional(),
  client: z.string().min(1).max(1024).optional(),
  json: z.boolean().optional(),
});

/**
 * `tokenwatch credentials [--json] [--tenant <t>] [--client <id>] [--limit <n>]`: every
 * credential per client with first and last use, networks and age, oldest first within each
 * client. A list cut at --limit says so on stderr.
 */
export async function credentialsCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(credentialsFlags, flags);
  const result = await readOnlySql(settings, {
    query: CREDENTIALS_LIST,
    format: 'JSONEachRow',
    // One more than asked: whether the list was cut.
    params: credentialsParams({ limit: options.limit + 1, tenant: options.tenant, client: options.client }),
  });
  const now = Date.now();
  let shown = 0;
  let more = false;
  let heading = '';
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    if (shown === options.limit) {
      more = true;
      continue;
    }
    const credential = credentialReport(credentialRowSchema.parse(JSON.parse(line)), now);
    if (options.json) process.stdout.write(`${JSON.stringify(credential)}\n`);
    else {
      const client = `${credential.client_id}, tenant ${credential.tenant}`;
      if (client !== heading) process.stdout.write(`${heading ? '\n' : ''}${client}\n`);
      heading = client;
      process.stdout.write(`${renderCredentialPlain(credential)}\n`);
    }
    shown += 1;
  }
  process.stderr.write(`${shown} credentials${more ? `; more: raise --limit (at most ${MAX_CREDENTIALS}) or narrow with --tenant and --client` : ''}\n`);
}
