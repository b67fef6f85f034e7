import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { HOUR_MS, readClientActivity, type ClientActivity } from './alerts.js';

const SUMMARY = sql(import.meta.url, './client-summary.sql');
const CREDENTIALS = sql(import.meta.url, './client-credentials.sql');
const NETWORKS = sql(import.meta.url, './client-networks.sql');
const SOFTWARE = sql(import.meta.url, './client-software.sql');
const ALERTS = sql(import.meta.url, './client-alerts.sql');

const DAYS_SHOWN = 30;
const DAY_MS = 24 * HOUR_MS;

/** A client is named by tenant and id, each any text up to 1 KiB (a tap's tenant is a URL). */
export const clientKeySchema = z.strictObject({ tenant: z.string().min(1).max(1024), client: z.string().min(1).max(1024) });

const span = { first_ms: z.coerce.number(), last_ms: z.coerce.number() };
const summaryRow = z.object({ client_name: z.string(), ...span });
const credentialRow = z.object({ auth_method: z.string(), credential_id: z.string(), ...span, requests: z.coerce.number(), failures: z.coerce.number(), asns: z.array(z.coerce.number()) });
const networkRow = z.object({ asn: z.coerce.number(), as_org: z.string(), country: z.string(), hosting_provider: z.string(), ...span, requests: z.coerce.number(), failures: z.coerce.number(), networks: z.coerce.number() });
const softwareRow = z.object({ kind: z.enum(['scope', 'audience', 'user_agent_family']), value: z.string(), example: z.string(), requests: z.coerce.number(), ...span });
const alertRow = z.object({ alert_id: z.string(), finding: z.string(), severity: z.string(), status: z.string(), summary: z.string(), ...span });

/** Who owns a client, from the inventory the running process holds (undefined: no entry). */
export type OwnerLookup = (tenant: string, clientId: string) => { owner: string; team: string; slack_channel: string; criticality: string } | undefined;

/** Everything the client page shows: a client's whole story in one answer. */
export interface ClientStory {
  readonly tenant: string;
  readonly client_id: string;
  readonly client_name: string;
  readonly first_ms: number;
  readonly last_ms: number;
  readonly owner: ReturnType<OwnerLookup> | null;
  /** The last 30 days, requests per hour. */
  readonly activity: ClientActivity;
  readonly credentials: Array<z.output<typeof credentialRow>>;
  readonly networks: Array<z.output<typeof networkRow>>;
  /** Scopes and audiences granted in the last 30 days (whole weeks, from client_traits). */
  readonly scopes: Array<z.output<typeof softwareRow>>;
  /** Software (user-agent families, an example user agent of each) run in the same weeks. */
  readonly user_agents: Array<z.output<typeof softwareRow>>;
  readonly alerts: Array<z.output<typeof alertRow>>;
}

/** Undefined when the logs never showed this client. */
export async function readClientStory(client: ClickHouseClient, tenant: string, clientId: string, ownerOf: OwnerLookup, now: number): Promise<ClientStory | undefined> {
  const key = { tenant, client: clientId };
  const [summary] = await queryRows(client, SUMMARY, key, summaryRow);
  if (!summary) return undefined;
  const to = Math.ceil(now / HOUR_MS) * HOUR_MS;
  const from = to - DAYS_SHOWN * DAY_MS;
  const [activity, credentials, networks, software, alerts] = await Promise.all([
    readClientActivity(client, tenant, clientId, from, to),
    queryRows(client, CREDENTIALS, key, credentialRow),
    queryRows(client, NETWORKS, key, networkRow),
    queryRows(client, SOFTWARE, { ...key, from: toClickHouseTime(from) }, softwareRow),
    queryRows(client, ALERTS, key, alertRow),
  ]);
  return {
    tenant,
    client_id: clientId,
    client_name: summary.client_name,
    first_ms: summary.first_ms,
    last_ms: summary.last_ms,
    owner: ownerOf(tenant, clientId) ?? null,
    activity,
    credentials,
    networks,
    scopes: software.filter((row) => row.kind !== 'user_agent_family'),
    user_agents: software.filter((row) => row.kind === 'user_agent_family'),
    alerts,
  };
}
