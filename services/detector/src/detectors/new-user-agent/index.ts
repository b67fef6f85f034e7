import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS, HOUR_MS } from '@tokenwatch/shared/time';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor } from '../../config.js';
import { windowParams, type Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { userAgentFamily } from '@tokenwatch/shared/user-agent-family';
import { NEW_USER_AGENT } from './findings.js';

const WINDOW_AGENTS = sql(import.meta.url, './window-agents.sql');
const KNOWN_FAMILIES = sql(import.meta.url, './known-families.sql');
const KNOWN_NETWORKS = sql(import.meta.url, './known-networks.sql');
const RECENT_FAILURES = sql(import.meta.url, './recent-failures.sql');

/**
 * Failed requests of the client this long before the new software's first request (and until
 * its last in the window) make the alert high: an attacker trying the credential. A span of
 * event time, not the tick's window, so live ticks and a backtest judge alike.
 */
export const FAILURES_BEFORE_MS = HOUR_MS;

/** A user agent is free text of up to 1 KiB; the evidence shows its start. */
const USER_AGENT_SHOWN = 300;

const agentRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  user_agent: z.string(),
  ...requestSpanColumns,
  first_asn: z.coerce.number(),
  first_as_org: z.string(),
  first_country: z.string(),
  asns: z.array(z.coerce.number()),
  ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
type AgentRow = z.output<typeof agentRow>;

/** One client's successful requests of one family in the window. */
export type FamilyUse = AgentRow & { readonly family: string };

const familyRow = z.object({ tenant: z.string(), client_id: z.string(), family: z.string(), example: z.string(), ...requestSpanColumns });
export type KnownFamily = z.output<typeof familyRow>;

const networkRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
  ...requestSpanColumns,
});
export type KnownNetwork = z.output<typeof networkRow>;

const failureRow = z.object({ tenant: z.string(), client_id: z.string(), minute_ms: z.coerce.number(), failures: z.coerce.number() });

const iso = (ms: number) => new Date(ms).toISOString();
const isoDay = (ms: number) => iso(ms).slice(0, 10);

function keysOf(rows: ReadonlyArray<{ tenant: string; client_id: string }>) {
  return { tenants: [...new Set(rows.map((row) => row.tenant))], clients: [...new Set(rows.map((row) => row.client_id))] };
}

/**
 * new_user_agent: a client got a token with software it never ran, judged on the user-agent
 * family (shared/src/user-agent-family.ts: the product name, versions ignored, so a library upgrade is not
 * news). A stolen secret is used with the attacker's tools (python-requests, curl, a custom
 * client like 2024's "rapeflake"), not the client's own (OWASP NHI2, secret leakage). Medium;
 * high together with a network (ASN) the client never used, or with failed requests of the
 * client in the hour before (an attacker trying the credential).
 *
 * Cost per tick: the window's requests grouped by user agent (window-agents.sql), the
 * client_traits rollup rows of the window's clients (known-families.sql), and client_locations
 * rows only of clients with a new family (known-networks.sql).
 */
export const newUserAgent: Detector = {
  name: 'new_user_agent',
  findings: [NEW_USER_AGENT],
  enabled: (config) => allSettingsOf(config, 'new_user_agent').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config } = context;
    const rows = (await queryRows(clickhouse, WINDOW_AGENTS, windowParams(window), agentRow)).filter(
      (row) => settingsFor(config, 'new_user_agent', row.tenant, row.client_id).enabled,
    );
    const uses = familyUses(rows);
    if (uses.length === 0) return [];

    const known = groupBy(await queryRows(clickhouse, KNOWN_FAMILIES, keysOf(uses), familyRow), (row) => clientKey(row.tenant, row.client_id));
    const history = await readClientHistory(clickhouse, uses);
    const allowlist = new Allowlist(config.allowlist);
    const candidates = uses.filter((use) => {
      const key = clientKey(use.tenant, use.client_id);
      const { learning_days } = settingsFor(config, 'new_user_agent', use.tenant, use.client_id);
      const firstSeen = history.get(key)?.firstSeen ?? use.first_ms;
      return (
        use.first_ms - firstSeen >= learning_days * DAY_MS &&
        isNewFamily(use, known.get(key) ?? []) &&
        !allowlist.match('new_user_agent', { ...use, asn: use.first_asn, country: use.first_country }, window.now)
      );
    });
    if (candidates.length === 0) return [];

    const networks = groupBy(
      await queryRows(clickhouse, KNOWN_NETWORKS, { ...keysOf(candidates), to: isoDay(Math.max(...candidates.map((use) => use.last_ms))) }, networkRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const failures = groupBy(
      await queryRows(clickhouse, RECENT_FAILURES, {
        ...keysOf(candidates),
        from: toClickHouseTime(Math.min(...candidates.map((use) => use.first_ms)) - FAILURES_BEFORE_MS),
        to: toClickHouseTime(Math.max(...candidates.map((use) => use.last_ms))),
      }, failureRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    return candidates.map((use) => {
      const key = clientKey(use.tenant, use.client_id);
      const failed = (failures.get(key) ?? [])
        .filter((row) => row.minute_ms >= use.first_ms - FAILURES_BEFORE_MS - 60_000 && row.minute_ms <= use.last_ms)
        .reduce((sum, row) => sum + row.failures, 0);
      const draft = judgeUse(use, known.get(key) ?? [], networks.get(key) ?? [], failed, history.get(key)?.firstSeen ?? use.first_ms);
      return { ...draft, client_name: use.client_name || (history.get(key)?.clientName ?? '') };
    });
  },
};

/** The window's rows merged per client and family: first request, counts, networks, ids. */
export function familyUses(rows: readonly AgentRow[]): FamilyUse[] {
  const merged = new Map<string, FamilyUse>();
  for (const row of [...rows].sort((a, b) => a.first_ms - b.first_ms)) {
    const family = userAgentFamily(row.user_agent);
    if (family === '') continue;
    const key = `${clientKey(row.tenant, row.client_id)}\u0000${family}`;
    const use = merged.get(key);
    if (!use) {
      merged.set(key, { ...row, family, asns: [...row.asns], ips: [...row.ips], event_ids: [...row.event_ids] });
      continue;
    }
    merged.set(key, {
      ...use,
      last_ms: Math.max(use.last_ms, row.last_ms),
      requests: use.requests + row.requests,
      asns: [...new Set([...use.asns, ...row.asns])].slice(0, 10),
      ips: [...new Set([...use.ips, ...row.ips])].slice(0, 5),
      event_ids: [...use.event_ids, ...row.event_ids].slice(0, 20),
    });
  }
  return [...merged.values()];
}

/**
 * No earlier request of the client ran this family, and some earlier one ran another: a client
 * whose source never logged a user agent before is not judged on its first one.
 */
export function isNewFamily(use: FamilyUse, known: readonly KnownFamily[]): boolean {
  const before = known.filter((row) => row.first_ms < use.first_ms);
  return before.length > 0 && !before.some((row) => row.family === use.family);
}

export function judgeUse(use: FamilyUse, known: readonly KnownFamily[], networks: readonly KnownNetwork[], failures: number, clientFirstSeen: number): AlertDraft {
  const usual = known.filter((row) => row.first_ms < use.first_ms).sort((a, b) => b.requests - a.requests);
  const usualNetworks = networks.filter((row) => row.first_ms < use.first_ms).sort((a, b) => b.requests - a.requests);
  const usualAsns = new Set(usualNetworks.map((row) => row.asn));
  const newNetwork = use.asns.some((asn) => asn > 0 && !usualAsns.has(asn));
  const where = `${use.ips[0] ?? 'an unknown address'} (${use.first_asn > 0 ? `AS${use.first_asn}${use.first_as_org ? ` ${use.first_as_org}` : ''}` : 'unknown network'}${use.first_country ? `, ${use.first_country}` : ''})`;
  const news = [...(newNetwork ? ['from a network it never used'] : []), ...(failures > 0 ? [`with ${failures} failed requests in the hour before`] : [])];
  const usualText = usual.slice(0, 3).map((row) => row.family).join(', ');

  return NEW_USER_AGENT.draft({
    severity: news.length > 0 ? 'high' : 'medium',
    tenant: use.tenant,
    client_id: use.client_id,
    client_name: use.client_name,
    alert_key: `family:${use.family}`,
    window_start: use.first_ms,
    first_seen: use.first_ms,
    last_seen: use.last_ms,
    event_count: use.requests,
    summary:
      `client ${use.client_id} got a token with software it never ran before, ${use.family} ` +
      `("${use.user_agent.slice(0, 80)}"), from ${where}${news.length > 0 ? `, ${news.join(' and ')}` : ''}` +
      `${usualText ? `; it usually runs ${usualText}` : ''}.`,
    evidence: {
      new_family: use.family,
      user_agent: use.user_agent.slice(0, USER_AGENT_SHOWN),
      client_first_seen: iso(clientFirstSeen),
      request: {
        first_request: iso(use.first_ms),
        source_ips: use.ips,
        asn: use.first_asn,
        as_org: use.first_as_org,
        country: use.first_country,
        new_network: newNetwork,
        failures_before: failures,
      },
      usual_families: usual.slice(0, 10).map((row) => ({
        family: row.family,
        example: row.example.slice(0, USER_AGENT_SHOWN),
        first_seen: iso(row.first_ms),
        last_seen: iso(Math.min(row.last_ms, use.first_ms)),
        requests: row.requests,
      })),
      usual_networks: usualNetworks.slice(0, 10).map((row) => ({
        asn: row.asn,
        as_org: row.as_org,
        country: row.country,
        first_seen: iso(row.first_ms),
        last_seen: iso(Math.min(row.last_ms, use.first_ms)),
        requests: row.requests,
      })),
    },
    event_ids: use.event_ids,
  });
}
