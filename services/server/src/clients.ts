import { z } from 'zod';
import { sql } from '@tokenwatch/shared/storage/sql';
import type { Inventory } from '@tokenwatch/shared/inventory/inventory';

/**
 * `tokenwatch clients`: the inventory of machine identities that the logs themselves prove,
 * beside what the client inventory (TOKENWATCH_INVENTORY) says about each. The CLI runs
 * CLIENTS_PAGE through the read-only path and turns each row into a ClientReport here.
 */
export const CLIENTS_PAGE = sql(import.meta.url, './clients.sql');

/** Most clients one command prints (--limit); more are reached with --after. */
export const MAX_CLIENTS_PAGE = 10_000;

/** Longest list of methods, credentials, networks or countries per client (the SQL's caps). */
export const CLIENT_LIST_CAP = 20;

export const clientRowSchema = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  // Zero when the client's location rows aged out (TOKENWATCH_RETENTION_DAYS) but `clients` kept it.
  requests: z.coerce.number(),
  failed: z.coerce.number(),
  auth_methods: z.array(z.string()),
  credential_ids: z.array(z.string()),
  network_count: z.coerce.number(),
  networks: z.array(z.string()),
  countries: z.array(z.string()),
});

export type ClientRow = z.output<typeof clientRowSchema>;

export interface ClientReport {
  readonly tenant: string;
  readonly client_id: string;
  readonly name: string;
  readonly first_request: string;
  readonly last_request: string;
  readonly requests: number;
  readonly failed_requests: number;
  readonly auth_methods: readonly string[];
  readonly credential_ids: readonly string[];
  readonly network_count: number;
  readonly networks: readonly string[];
  readonly countries: readonly string[];
  /** The client's inventory entry, or null: a client the inventory does not know. */
  readonly inventory: { owner: string; team: string; slack_channel: string; criticality: string; tags: readonly string[] } | null;
}

/** Query parameters of one page: clients after the cursor `tenant/client_id`, optionally one tenant's. */
export function clientsPageParams(options: { limit: number; tenant?: string | undefined; after?: { tenant: string; client_id: string } | undefined }) {
  return { limit: options.limit, tenant: options.tenant ?? '', after_tenant: options.after?.tenant ?? '', after_client: options.after?.client_id ?? '' };
}

export function clientReport(row: ClientRow, inventory: Inventory): ClientReport {
  const entry = inventory.get(row.tenant, row.client_id);
  return {
    tenant: row.tenant,
    client_id: row.client_id,
    name: row.client_name || entry?.name || '',
    first_request: new Date(row.first_ms).toISOString(),
    last_request: new Date(row.last_ms).toISOString(),
    requests: row.requests,
    failed_requests: row.failed,
    auth_methods: row.auth_methods,
    credential_ids: row.credential_ids,
    network_count: row.network_count,
    networks: row.networks,
    countries: row.countries,
    inventory: entry ? { owner: entry.owner, team: entry.team, slack_channel: entry.slack_channel, criticality: entry.criticality, tags: entry.tags } : null,
  };
}

/** A client as a few readable lines for the terminal. */
export function renderClientPlain(client: ClientReport, inventoryConfigured: boolean): string {
  const owner = client.inventory
    ? `owner ${[client.inventory.owner, client.inventory.team].filter(Boolean).join(' · ') || '(none given)'}, criticality ${client.inventory.criticality}`
    : inventoryConfigured
      ? 'NOT IN THE INVENTORY'
      : 'no inventory configured';
  const more = (shown: number, total: number) => (total > shown ? ` (+${total - shown} more)` : '');
  return [
    `${client.client_id}${client.name && client.name !== client.client_id ? ` (${client.name})` : ''}, tenant ${client.tenant}: ${owner}`,
    `  ${client.first_request} → ${client.last_request}, ${client.requests} requests (${client.failed_requests} failed)`,
    `  auth: ${client.auth_methods.join(', ') || '-'}; credentials: ${client.credential_ids.join(', ') || '-'}`,
    `  networks: ${client.networks.join(', ') || '-'}${more(client.networks.length, client.network_count)}; countries: ${client.countries.join(', ') || '-'}`,
  ].join('\n');
}
