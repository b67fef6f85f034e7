import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { clientKey, requestSpanColumns } from './clients.js';
import { windowParams, type DetectWindow } from './detector.js';
import { groupBy } from './group-by.js';

const CREDENTIAL_USES = sql(import.meta.url, './credential-uses.sql');
const CLIENT_CREDENTIALS = sql(import.meta.url, './client-credentials.sql');

/** Most credentials read per client: the most recently used ones. */
export const CREDENTIALS_PER_CLIENT = 100;

/** How the rollups (0012) and the detectors name a credential: the field and its value. */
export const credentialKey = (source: string, credential: string): string => `${source}:${credential}`;

const credentialUseRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  credential_source: z.string(),
  credential: z.string(),
  first_asn: z.coerce.number(),
  first_as_org: z.string(),
  first_country: z.string(),
  auth_method: z.string(),
  ...requestSpanColumns,
  asns: z.array(z.coerce.number()),
  ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
/** A credential's successful requests in the window. */
export type CredentialUse = z.output<typeof credentialUseRow>;

const credentialRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  credential_source: z.string(),
  credential: z.string(),
  auth_method: z.string(),
  ...requestSpanColumns,
  asns: z.array(z.coerce.number()),
  countries: z.array(z.string()),
});
/** A credential's whole life as the client_credentials rollup remembers it. */
export type CredentialLife = z.output<typeof credentialRow>;

export async function readCredentialUses(clickhouse: ClickHouseClient, window: DetectWindow): Promise<CredentialUse[]> {
  return queryRows(clickhouse, CREDENTIAL_USES, windowParams(window), credentialUseRow);
}

/** Every credential of these clients (the CREDENTIALS_PER_CLIENT most recent), keyed by clientKey. */
export async function readClientCredentials(
  clickhouse: ClickHouseClient,
  clients: ReadonlyArray<{ tenant: string; client_id: string }>,
): Promise<Map<string, CredentialLife[]>> {
  if (clients.length === 0) return new Map();
  const rows = await queryRows(clickhouse, CLIENT_CREDENTIALS, {
    tenants: [...new Set(clients.map((c) => c.tenant))],
    clients: [...new Set(clients.map((c) => c.client_id))],
    per_client: CREDENTIALS_PER_CLIENT,
  }, credentialRow);
  return groupBy(rows, (row) => clientKey(row.tenant, row.client_id));
}
