import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { groupBy } from '../group-by.js';
import { IOC_MATCH } from './findings.js';
import type { Indicators, IpRange } from './indicators.js';
import { requestSpanColumns } from '../clients.js';

const CANDIDATES_FROM_REQUESTS = sql(import.meta.url, './candidates-requests.sql');
const CANDIDATES_FROM_ROLLUP = sql(import.meta.url, './candidates-rollup.sql');
const SWEEP_MATCHES = sql(import.meta.url, './sweep-matches.sql');

/**
 * Runs one read-only query and returns its rows, unvalidated: the CLI passes one that goes
 * through the running process's query server (embedded) or straight to ClickHouse, a benchmark
 * one on its own client. The sweep validates every row it gets back.
 */
export type SweepReader = (query: string, params: Record<string, unknown>) => Promise<unknown[]>;

export interface SweepRange {
  /** Epoch ms, [from, to). */
  readonly from: number;
  readonly to: number;
}

/** What the sweep prints per line (`--json`): a client's requests that matched one indicator. */
export const SWEEP_OUTPUT_KEYS = ['tenant', 'client_id', 'indicator', 'first_seen', 'last_seen', 'requests', 'successes'] as const;

/** A client's requests that matched one indicator. */
export const sweepMatchSchema = z.strictObject({
  tenant: z.string().max(1_000),
  client_id: z.string().max(1_000),
  indicator: z.string().max(1_100),
  first_seen: z.number().int(),
  last_seen: z.number().int(),
  requests: z.number().int().nonnegative(),
  successes: z.number().int().nonnegative(),
  /** The client's requests that matched any indicator, each once (the ioc_match alert's count). */
  client_requests: z.number().int().nonnegative(),
});
export type SweepMatch = z.output<typeof sweepMatchSchema>;

const candidateRow = z.object({ tenant: z.string(), client_id: z.string() });
const matchRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  indicator: z.string(),
  ...requestSpanColumns,
  successes: z.coerce.number(),
  client_requests: z.coerce.number(),
});

/**
 * Which clients requested tokens from an indicator in [from, to), per client and indicator.
 * Two steps: find the clients (from the client_locations rollup when it can answer, else from
 * the requests reduced to distinct client, address, user agent and ASN), then count exactly,
 * reading only those clients' requests.
 */
export async function sweep(read: SweepReader, indicators: Indicators, range: SweepRange): Promise<SweepMatch[]> {
  if (indicators.count === 0) return [];
  const params = {
    from: toClickHouseTime(range.from),
    to: toClickHouseTime(range.to),
    addresses: indicators.addresses.map((address) => address.start),
    address_labels: indicators.addresses.map((address) => address.label),
    range_keys: indicators.ranges.map((ipRange) => ipRange.key),
    range_labels: indicators.ranges.map((ipRange) => ipRange.label),
    range_prefixes: [...new Set(indicators.ranges.map((ipRange) => ipRange.prefix))],
    asns: indicators.asns.map((asn) => asn.asn),
    asn_labels: indicators.asns.map((asn) => asn.label),
    user_agents: indicators.userAgents.map((agent) => agent.substring),
    user_agent_labels: indicators.userAgents.map((agent) => agent.label),
  };
  const candidatesQuery = rollupAnswers(indicators) ? CANDIDATES_FROM_ROLLUP : CANDIDATES_FROM_REQUESTS;
  const candidates = (await read(candidatesQuery, pick(params, candidatesQuery))).map((row) => candidateRow.parse(row));
  if (candidates.length === 0) return [];
  const matches = await read(
    SWEEP_MATCHES,
    pick(
      {
        ...params,
        tenants: [...new Set(candidates.map((row) => row.tenant))],
        clients: [...new Set(candidates.map((row) => row.client_id))],
        client_keys: candidates.map((row) => `${row.tenant}\u0000${row.client_id}`),
      },
      SWEEP_MATCHES,
    ),
  );
  return matches.map((value) => {
    const row = matchRow.parse(value);
    return sweepMatchSchema.parse({
      tenant: row.tenant,
      client_id: row.client_id,
      indicator: row.indicator,
      first_seen: row.first_ms,
      last_seen: row.last_ms,
      requests: row.requests,
      successes: row.successes,
      client_requests: row.client_requests,
    });
  });
}

/**
 * client_locations keeps one network per request, /24 for IPv4 and /48 for IPv6, and the ASN:
 * it answers for ASNs and for ranges at least that wide, never for single addresses, narrower
 * ranges or user agents.
 */
export function rollupAnswers(indicators: Indicators): boolean {
  const wideEnough = (range: IpRange) => range.prefix <= 48 || (range.ipv4 && range.prefix <= 96 + 24);
  return indicators.addresses.length === 0 && indicators.userAgents.length === 0 && indicators.ranges.every(wideEnough);
}

/** Only the parameters a query names, so each request carries no unused (possibly large) arrays. */
function pick(params: Record<string, unknown>, query: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([name]) => query.includes(`{${name}:`)));
}

/**
 * ioc_match alerts (high), one per client: its matches with the swept span. The key is the
 * set of indicators it matched, so the same sweep run again updates its alert, and a client
 * that later matches other indicators gets a new one.
 */
export function iocMatchDrafts(matches: readonly SweepMatch[], range: SweepRange, indicatorsSwept: number): AlertDraft[] {
  return [...groupBy(matches, (match) => `${match.tenant}\u0000${match.client_id}`).values()].map((clientMatches) => {
    const [first] = clientMatches;
    const indicators = clientMatches.map((match) => match.indicator).sort();
    const requests = first?.client_requests ?? 0;
    const shown = indicators.slice(0, 3).join(', ');
    return IOC_MATCH.draft({
      severity: 'high',
      tenant: first?.tenant ?? '',
      client_id: first?.client_id ?? '',
      client_name: '',
      alert_key: `iocs:${createHash('sha256').update(indicators.join('\n')).digest('hex').slice(0, 16)}`,
      window_start: 0,
      first_seen: Math.min(...clientMatches.map((match) => match.first_seen)),
      last_seen: Math.max(...clientMatches.map((match) => match.last_seen)),
      event_count: requests,
      summary:
        `client ${first?.client_id ?? ''} requested tokens from ${indicators.length} indicator${indicators.length === 1 ? '' : 's'} of compromise ` +
        `(${shown}${indicators.length > 3 ? ', …' : ''}): ${requests} request${requests === 1 ? '' : 's'} between ` +
        `${new Date(range.from).toISOString()} and ${new Date(range.to).toISOString()}.`,
      evidence: {
        swept_from: new Date(range.from).toISOString(),
        swept_to: new Date(range.to).toISOString(),
        indicators_swept: indicatorsSwept,
        matches: clientMatches.slice(0, 1_000).map((match) => ({
          indicator: match.indicator.slice(0, 1_000),
          first_seen: new Date(match.first_seen).toISOString(),
          last_seen: new Date(match.last_seen).toISOString(),
          requests: match.requests,
          successes: match.successes,
        })),
      },
      event_ids: [],
    });
  });
}
