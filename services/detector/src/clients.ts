import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';

const CLIENT_HISTORY = sql(import.meta.url, './client-history.sql');

const historyRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  first_seen_ms: z.coerce.number(),
});

export interface ClientHistory {
  readonly clientName: string;
  /** When tokenwatch first saw the client (epoch ms): learning periods and cold starts count from here. */
  readonly firstSeen: number;
}

/** The span and count of a client's requests, as every per-client row of the detectors' queries reports them. */
export const requestSpanColumns = {
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  requests: z.coerce.number(),
};

export const clientKey = (tenant: string, clientId: string): string => `${tenant}\u0000${clientId}`;

/** First sighting and name of these clients, keyed by clientKey, from the `clients` rollup. */
export async function readClientHistory(
  client: ClickHouseClient,
  clients: ReadonlyArray<{ tenant: string; client_id: string }>,
): Promise<Map<string, ClientHistory>> {
  if (clients.length === 0) return new Map();
  const rows = await queryRows(client, CLIENT_HISTORY, {
    tenants: [...new Set(clients.map((c) => c.tenant))],
    clients: [...new Set(clients.map((c) => c.client_id))],
  }, historyRow);
  return new Map(rows.map((row) => [clientKey(row.tenant, row.client_id), { clientName: row.client_name, firstSeen: row.first_seen_ms }]));
}
