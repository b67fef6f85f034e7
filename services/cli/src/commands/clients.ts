import { createInterface } from 'node:readline';
import { z } from 'zod';
import { CLIENTS_PAGE, clientReport, clientRowSchema, clientsPageParams, MAX_CLIENTS_PAGE, renderClientPlain } from '@tokenwatch/server/clients';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { EMPTY_INVENTORY } from '@tokenwatch/shared/inventory/inventory';
import { loadInventory } from '@tokenwatch/shared/inventory/watch';
import { parseFlags } from '../flags.js';
import type { CommandContext } from '../run.js';

// The cursor names a (tenant, client_id) pair; either may hold any character (a tap's tenant
// is a URL), so it travels as base64url JSON rather than a separated string.
const cursorSchema = z.tuple([z.string().max(1024), z.string().max(1024)]);
const cursorFlag = z.string().max(4096).transform((text, context) => {
  try {
    const [tenant, client_id] = cursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    return { tenant, client_id };
  } catch {
    context.addIssue({ code: 'custom', message: 'expected the cursor a previous `tokenwatch clients` printed' });
    return z.NEVER;
  }
});
const cursorOf = (client: { tenant: string; client_id: string }) => Buffer.from(JSON.stringify([client.tenant, client.client_id])).toString('base64url');

const clientsFlags = z.object({
  limit: z.coerce
    .number({ error: `expected a whole number from 1 to ${MAX_CLIENTS_PAGE}` })
    .int(`expected a whole number from 1 to ${MAX_CLIENTS_PAGE}`)
    .min(1, `expected a whole number from 1 to ${MAX_CLIENTS_PAGE}`)
    .max(MAX_CLIENTS_PAGE, `at most ${MAX_CLIENTS_PAGE}: page with --after`),
  tenant: z.string().min(1).max(1024).optional(),
  after: cursorFlag.optional(),
  json: z.boolean().optional(),
});

/**
 * `tokenwatch clients [--json] [--tenant <t>] [--limit <n>] [--after <cursor>]`: every client
 * the logs show, in (tenant, client_id) order, with the inventory's owner beside each. A page
 * that stops at --limit says on stderr how to get the next one.
 */
export async function clientsCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(clientsFlags, flags);
  const inventory = settings.TOKENWATCH_INVENTORY
    ? await loadInventory(settings.TOKENWATCH_INVENTORY, { requireComplete: settings.TOKENWATCH_INVENTORY_REQUIRE })
    : EMPTY_INVENTORY;
  const result = await readOnlySql(settings, {
    query: CLIENTS_PAGE,
    format: 'JSONEachRow',
    // One more than asked: whether there is a next page.
    params: clientsPageParams({ limit: options.limit + 1, tenant: options.tenant, after: options.after }),
  });
  let shown = 0;
  let last: { tenant: string; client_id: string } | undefined;
  let more = false;
  let unknown = 0;
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    if (shown === options.limit) {
      more = true;
      continue;
    }
    const client = clientReport(clientRowSchema.parse(JSON.parse(line)), inventory);
    if (!client.inventory) unknown += 1;
    process.stdout.write(options.json ? `${JSON.stringify(client)}\n` : `${renderClientPlain(client, settings.TOKENWATCH_INVENTORY !== undefined)}\n\n`);
    shown += 1;
    last = client;
  }
  const notListed = settings.TOKENWATCH_INVENTORY ? `, ${unknown} not in the inventory` : '';
  process.stderr.write(`${shown} clients${notListed}${more && last ? `; more: tokenwatch clients --after ${cursorOf(last)}` : ''}\n`);
}
