import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { clientKey, requestSpanColumns } from '../../clients.js';
import { windowParams, type Detector } from '../../detector.js';
import { UNKNOWN_CLIENT } from './findings.js';

const NEW_CLIENTS = sql(import.meta.url, './new-clients.sql');
const ALERTED_CLIENTS = sql(import.meta.url, './alerted-clients.sql');

const clientRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  ...requestSpanColumns,
  auth_methods: z.array(z.string()),
  credential_ids: z.array(z.string()),
  source_ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
const alertedRow = z.object({ tenant: z.string(), client_id: z.string() });

/**
 * unknown_client: a client mints tokens but the inventory, which says it lists every client
 * (TOKENWATCH_INVENTORY_REQUIRE or `require: true`), has no entry for it. A shadow machine
 * identity: created outside the process that records owners, or forgotten by it (OWASP NHI
 * inventory). Low severity, once per client: the alert key is the client itself (no window),
 * and a client that already has one is skipped, so later traffic does not re-notify.
 */
export const unknownClient: Detector = {
  name: 'unknown_client',
  findings: [UNKNOWN_CLIENT],
  enabled: (config) => config.unknown_client.enabled,
  async detect(context, window) {
    const { clickhouse, inventory } = context;
    if (!inventory?.complete) return [];
    const clients = (await queryRows(clickhouse, NEW_CLIENTS, windowParams(window), clientRow)).filter(
      (client) => !inventory.get(client.tenant, client.client_id),
    );
    if (clients.length === 0) return [];
    const alerted = new Set(
      (
        await queryRows(clickhouse, ALERTED_CLIENTS, {
          tenants: [...new Set(clients.map((client) => client.tenant))],
          clients: [...new Set(clients.map((client) => client.client_id))],
        }, alertedRow)
      ).map((row) => clientKey(row.tenant, row.client_id)),
    );
    const drafts: AlertDraft[] = [];
    for (const client of clients) {
      if (alerted.has(clientKey(client.tenant, client.client_id))) continue;
      drafts.push(
        UNKNOWN_CLIENT.draft({
          severity: 'low',
          tenant: client.tenant,
          client_id: client.client_id,
          client_name: client.client_name,
          alert_key: '',
          window_start: 0,
          first_seen: client.first_ms,
          last_seen: client.last_ms,
          event_count: client.requests,
          summary:
            `client ${client.client_id}${client.client_name ? ` (${client.client_name})` : ''} minted tokens but is not in the client inventory, ` +
            `which lists every client: a machine identity nobody has claimed. Add it with its owner, or find out who created it.`,
          evidence: {
            first_request: new Date(client.first_ms).toISOString(),
            requests: client.requests,
            auth_methods: client.auth_methods.filter(Boolean).sort(),
            credential_ids: client.credential_ids.filter(Boolean).sort(),
            source_ips: client.source_ips.sort(),
            inventory_clients: inventory.size,
          },
          event_ids: client.event_ids,
        }),
      );
    }
    return drafts;
  },
};
