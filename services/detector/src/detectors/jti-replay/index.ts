import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { MAX_ALERT_EVENT_IDS, type AlertDraft, type Severity } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { UNKNOWN } from '@tokenwatch/shared/events/token-request';
import { allSettingsOf, settingsFor, type DetectorsConfig } from '../../config.js';
import { windowParams, type DetectContext, type Detector, type DetectWindow } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { ASSERTION_HYGIENE, JTI_CROSS_CLIENT, JTI_REPLAY } from './findings.js';

const REPLAY_REPORTS = sql(import.meta.url, './replay-reports.sql');
const REUSED_JTIS = sql(import.meta.url, './reused-jtis.sql');
const JTI_REQUESTS = sql(import.meta.url, './jti-requests.sql');
const NAMED_USES = sql(import.meta.url, './named-uses.sql');
const HYGIENE = sql(import.meta.url, './hygiene.sql');

const UNVERIFIED_NOTE = ' Every use was refused by the IdP and its claims are unverified: the client and jti may be forged.';

/** Clock difference tolerated between the IdP and the assertion's issuer when judging exp. */
const EXP_LEEWAY_MS = MINUTE_MS;

/**
 * How far an earlier (or later) use of a window's jti is looked for, around each use
 * (reused-jtis.sql; migration 0016 says why by hour). A replay is the same assertion, so all
 * its uses share its iat and exp and fall inside its validity: the look-up reaches from each
 * use back to its iat and forward to its exp, plus EXP_LEEWAY_MS either way.
 *
 * At least MIN_SPAN_MS either way: clock skew between the IdP and the issuer, the lifetimes
 * assertion hygiene allows (5 minutes by default), and a jti two clients present minutes apart
 * with assertions of their own (different iats: jti_cross_client) is still found.
 */
const MIN_SPAN_MS = 15 * MINUTE_MS;

/**
 * At most this far either way, whatever the iat or exp say: the IdP checks neither on a
 * request it refused (assertion_unverified), so both may be forged. Assertions live minutes
 * (RFC 7523 clients use one to five), so a week leaves a wide margin; a longer
 * `window_without_exp_minutes` widens it. Also how far back the report of a replay that
 * names no client looks for the client that used its jti (named-uses.sql).
 */
const MAX_SPAN_MS = 7 * DAY_MS;

/**
 * A jti whose span covers at most this many hours is looked up by (tenant, hour, jti) keys,
 * one per hour, reading those hours' granules only; a longer span (an iat or exp more than an
 * hour or two from the use, legitimate or forged) by (tenant, jti) over the whole
 * MAX_SPAN_MS, as every jti was before migration 0016. So the key set holds at most this many
 * keys per jti (ordinary traffic: one or two) and a hostile claim costs at most the old look-up.
 */
const MAX_HOURS_BY_KEY = 4;

/** The longest `window_without_exp_minutes` of any client. */
function longestWindowWithoutExpMs(config: DetectorsConfig): number {
  return Math.max(...allSettingsOf(config, 'jti_replay').map((settings) => settings.window_without_exp_minutes * MINUTE_MS));
}

function maxSpanOf(config: DetectorsConfig): number {
  return Math.max(MAX_SPAN_MS, longestWindowWithoutExpMs(config));
}

/** The parameters of reused-jtis.sql for a window (exported for bench:jti-lookup, which times that query alone). */
export function reusedJtisParams(config: DetectorsConfig, window: DetectWindow): Record<string, string | number> {
  const seconds = (ms: number) => Math.ceil(ms / 1000);
  return {
    ...windowParams(window),
    leeway_seconds: seconds(EXP_LEEWAY_MS),
    min_span_seconds: seconds(MIN_SPAN_MS),
    // A use without iat or exp: replayedUses judges it within window_without_exp_minutes of the first use.
    no_claim_span_seconds: seconds(Math.max(MIN_SPAN_MS, longestWindowWithoutExpMs(config) + EXP_LEEWAY_MS)),
    max_span_seconds: seconds(maxSpanOf(config)),
    max_hours_by_key: MAX_HOURS_BY_KEY,
    wide_since: toClickHouseTime(window.timeFrom - maxSpanOf(config)),
  };
}

const replayReportRow = z.object({
  tenant: z.string(),
  jti: z.string(),
  reported_without_jti: z.array(z.string()),
  reported: z.coerce.boolean(),
  first_time: z.coerce.number(),
  last_time: z.coerce.number(),
});

const reusedJtiRow = z.object({
  tenant: z.string(),
  jti: z.string(),
  uses: z.coerce.number(),
  clients: z.array(z.string()),
  first_time: z.coerce.number(),
  last_time: z.coerce.number(),
});

const namedUseRow = z.object({
  tenant: z.string(),
  jti: z.string(),
  first_time: z.coerce.number(),
  last_time: z.coerce.number(),
});

const requestRow = z.object({
  event_id: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  jti: z.string(),
  time_ms: z.coerce.number(),
  outcome: z.enum(['success', 'failure']),
  error_code: z.string(),
  source_ip: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
  replay_reported: z.coerce.boolean(),
  unverified: z.coerce.boolean(),
  exp: z.coerce.number().nullable(),
});
type RequestRow = z.output<typeof requestRow>;

const hygieneRow = z.object({
  event_id: z.string(),
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  time_ms: z.coerce.number(),
  lifetime_seconds: z.coerce.number().nullable(),
  iat_age_seconds: z.coerce.number().nullable(),
  missing_jti: z.coerce.boolean(),
});

/**
 * jti_replay: a client assertion is meant to be used once before it expires (RFC 7523 §3,
 * OIDC Core §9). Raises `jti_replay` when one (tenant, client, jti) appears in two or more
 * requests within the assertion's validity or the IdP reported a replay, `jti_cross_client`
 * when two clients presented the same jti, and `assertion_hygiene` (low) for assertions that
 * live too long, lack a jti or carry an iat far from the request time.
 */
export const jtiReplay: Detector = {
  name: 'jti_replay',
  findings: [JTI_REPLAY, JTI_CROSS_CLIENT, ASSERTION_HYGIENE],
  enabled: (config) => config.jti_replay.enabled,
  async detect(context, window) {
    return [...(await findReplays(context, window)), ...(await findHygieneIssues(context, window))];
  },
};

async function findReplays(context: DetectContext, window: DetectWindow): Promise<AlertDraft[]> {
  const { clickhouse, config } = context;
  const reused = await queryRows(clickhouse, REUSED_JTIS, reusedJtisParams(config, window), reusedJtiRow);
  const reported = await queryRows(clickhouse, REPLAY_REPORTS, windowParams(window), replayReportRow);
  // A report of a jti may name no client (Keycloak's `issuedFor 'null'`): the tenants where a
  // named client used that jti are read too, so the report can join that client's alert.
  const reportedJtis = [...new Set(reported.map((row) => row.jti).filter(Boolean))];
  const named = reportedJtis.length === 0 ? [] : await queryRows(clickhouse, NAMED_USES, {
    jtis: reportedJtis,
    unknown: UNKNOWN,
    uses_since: toClickHouseTime(Math.min(...reported.map((row) => row.first_time)) - maxSpanOf(config)),
  }, namedUseRow);
  const suspects = [...reused, ...reported, ...named];
  if (suspects.length === 0) return [];

  const requests = await queryRows(clickhouse, JTI_REQUESTS, {
    // Tenant `unknown` always: a report naming no realm of one of these jtis links to them.
    tenants: [...new Set([...suspects.map((row) => row.tenant), UNKNOWN])],
    jtis: [...new Set(suspects.map((row) => row.jti).filter(Boolean))],
    event_ids: reported.flatMap((row) => row.reported_without_jti),
    time_from: toClickHouseTime(Math.min(...suspects.map((row) => row.first_time))),
    time_to: toClickHouseTime(Math.max(...suspects.map((row) => row.last_time)) + 1),
  }, requestRow);

  const drafts: AlertDraft[] = [];
  // A report without a jti stands alone: its event id is its key.
  for (const row of requests.filter((request) => request.jti === '' && request.replay_reported)) {
    drafts.push(replayDraft(row.tenant, row.client_id, `event:${row.event_id}`, [row], []));
  }
  const { uses: jtiUses, reportsOf } = linkNamelessReports(requests.filter((request) => request.jti !== ''));
  for (const [key, uses] of groupBy(jtiUses, jtiKey)) {
    const [tenant = '', jti = ''] = key.split('\u0000');
    const clients = groupBy(uses, (use) => use.client_id);
    if (clients.size > 1) drafts.push(crossClientDraft(tenant, jti, uses, clients));
    const reports = reportsOf.get(key) ?? [];
    for (const [clientId, clientUses] of clients) {
      const replays = replayedUses(clientUses, settingsFor(config, 'jti_replay', tenant, clientId).window_without_exp_minutes);
      if (replays.length > 0 || reports.length > 0 || clientUses.some((use) => use.replay_reported)) {
        drafts.push(replayDraft(tenant, clientId, jti, clientUses, replays, reports));
      }
    }
  }
  return drafts.filter((draft) => settingsFor(config, 'jti_replay', draft.tenant, draft.client_id).enabled);
}

const jtiKey = (row: RequestRow): string => `${row.tenant}\u0000${row.jti}`;

/**
 * Links each replay report that names no client (client `unknown`: Keycloak's `Token '<jti>'
 * already used when for issuedFor 'null'` without MDC logging) to the requests of named clients
 * that carry its jti, in its tenant, or in any tenant when it names none either. Keycloak logs
 * that warning right before the CLIENT_LOGIN_ERROR of the same replay (same jti, realm and
 * client), so alone it would raise a second jti_replay alert for unknown/unknown: linked, it is
 * evidence in the named client's alert instead. A report whose jti no named client carried
 * stays a use of its own and alerts on its own: the IdP's word is never dropped.
 * Returns the uses to group (linked reports left out) and, per (tenant, jti) key, the reports linked to it.
 */
function linkNamelessReports(requests: readonly RequestRow[]): { uses: RequestRow[]; reportsOf: Map<string, RequestRow[]> } {
  const isNameless = (row: RequestRow): boolean => row.replay_reported && row.client_id === UNKNOWN;
  const namedKeys = new Set(requests.filter((row) => row.client_id !== UNKNOWN).map(jtiKey));
  const uses: RequestRow[] = [];
  const reportsOf = new Map<string, RequestRow[]>();
  for (const row of requests) {
    const homes = isNameless(row)
      ? [...namedKeys].filter((key) => key === jtiKey(row) || (row.tenant === UNKNOWN && key.endsWith(`\u0000${row.jti}`)))
      : [];
    if (homes.length === 0) uses.push(row);
    for (const home of homes) reportsOf.set(home, [...(reportsOf.get(home) ?? []), row]);
  }
  return { uses, reportsOf };
}

/**
 * Uses whose claims nobody vouches for (TokenRequest.assertion_unverified: the tap read them
 * from requests the IdP refused). When every use of a jti is such, the jti, the client named
 * and the addresses are whatever the sender wrote: two refused requests can name any client.
 * That still says something (someone sends one assertion twice and is refused), so the alert
 * stays for an investigator, but low: it never pages, and never escalates on ASNs the sender
 * chose. One vouched-for use (the IdP issued a token for it) restores the full ranking: the
 * replay of a real client's accepted assertion is the attack this detector exists for.
 */
function onlyUnverified(uses: readonly RequestRow[]): boolean {
  return uses.length > 0 && uses.every((use) => use.unverified);
}

/**
 * The uses after the first that fall within the assertion's validity: before its exp (plus
 * leeway), or within the configured window of the first use when it carries no exp.
 */
function replayedUses(uses: readonly RequestRow[], windowWithoutExpMinutes: number): RequestRow[] {
  const [first, ...rest] = uses;
  if (!first) return [];
  const expiry =
    first.exp !== null && first.exp > 0 ? first.exp * 1000 + EXP_LEEWAY_MS : first.time_ms + windowWithoutExpMinutes * MINUTE_MS;
  return rest.filter((use) => use.time_ms <= expiry);
}

function replayDraft(
  tenant: string,
  clientId: string,
  key: string,
  uses: readonly RequestRow[],
  replays: readonly RequestRow[],
  linkedReports: readonly RequestRow[] = [],
): AlertDraft {
  // Linked reports are evidence (and events of the alert), not uses: they count no replay.
  const events = [...uses, ...linkedReports].sort((a, b) => a.time_ms - b.time_ms || a.event_id.localeCompare(b.event_id));
  const acceptedReplay = replays.some((use) => use.outcome === 'success');
  const asns = new Set(uses.map((use) => use.asn).filter((asn) => asn > 0));
  const unverified = onlyUnverified(uses);
  const severity: Severity = unverified ? 'low' : acceptedReplay || asns.size > 1 ? 'critical' : 'high';
  const first = uses[0];
  const jti = key.startsWith('event:') ? '' : key;
  const what = replays.length > 0
    ? `client assertion jti ${jti} was used ${uses.length} times within its validity${acceptedReplay ? ', and the IdP accepted a replay' : ', every replay rejected'}`
    : `the IdP reported a replayed client assertion${jti ? ` (jti ${jti})` : ''}`;
  return JTI_REPLAY.draft({
    severity,
    tenant,
    client_id: clientId,
    client_name: uses.find((use) => use.client_name)?.client_name ?? '',
    alert_key: key,
    window_start: 0,
    first_seen: events[0]?.time_ms ?? 0,
    last_seen: events.at(-1)?.time_ms ?? 0,
    event_count: events.length,
    summary: `${what}${asns.size > 1 ? ` from ${asns.size} different networks (ASNs)` : ''}.${unverified ? UNVERIFIED_NOTE : ''}`,
    evidence: {
      jti,
      uses: shown(events).map(describeUse),
      replayed_uses: replays.length,
      accepted_replays: replays.filter((use) => use.outcome === 'success').length,
      replay_reported_by_idp: events.some((use) => use.replay_reported),
      assertion_exp: first?.exp ? new Date(first.exp * 1000).toISOString() : null,
      distinct_asns: shown([...asns]),
    },
    event_ids: events.map((use) => use.event_id),
  });
}

function crossClientDraft(tenant: string, jti: string, uses: readonly RequestRow[], clients: ReadonlyMap<string, RequestRow[]>): AlertDraft {
  const [owner] = clients.keys();
  const unverified = onlyUnverified(uses);
  return JTI_CROSS_CLIENT.draft({
    severity: unverified ? 'low' : 'high',
    tenant,
    client_id: owner ?? '',
    client_name: clients.get(owner ?? '')?.[0]?.client_name ?? '',
    alert_key: jti,
    window_start: 0,
    first_seen: uses[0]?.time_ms ?? 0,
    last_seen: uses.at(-1)?.time_ms ?? 0,
    event_count: uses.length,
    summary: `client assertion jti ${jti} was presented by ${clients.size} different clients (${[...clients.keys()].join(', ')}): one client's assertion (or signing key) is in another's hands.${unverified ? UNVERIFIED_NOTE : ''}`,
    evidence: { jti, clients: shown([...clients.keys()]), uses: shown(uses).map(describeUse) },
    event_ids: uses.map((use) => use.event_id),
  });
}

/**
 * What evidence lists: a jti replayed thousands of times (hostile input) is counted in full by
 * event_count and the summary, but its evidence keeps the first uses, like event_ids.
 */
function shown<T>(items: readonly T[]): T[] {
  return items.slice(0, MAX_ALERT_EVENT_IDS);
}

function describeUse(use: RequestRow) {
  return {
    event_id: use.event_id,
    client_id: use.client_id,
    time: new Date(use.time_ms).toISOString(),
    outcome: use.outcome,
    error_code: use.error_code,
    source_ip: use.source_ip,
    asn: use.asn,
    as_org: use.as_org,
    country: use.country,
    replay_reported: use.replay_reported,
  };
}

type HygieneIssue = 'long_lifetime' | 'missing_jti' | 'iat_skew';

const HYGIENE_TEXT: Record<HygieneIssue, (count: number, limit: number) => string> = {
  long_lifetime: (count, limit) => `${count} client assertions lived longer than ${limit} minutes (exp - iat)`,
  missing_jti: (count) => `${count} client assertions carried no jti, so the IdP cannot refuse a replay`,
  iat_skew: (count, limit) => `${count} client assertions had an iat more than ${limit} s away from the request time`,
};

/** Assertion hygiene, grouped per client, UTC day and issue (low severity: policy, not compromise). */
async function findHygieneIssues(context: DetectContext, window: DetectWindow): Promise<AlertDraft[]> {
  const { clickhouse, config } = context;
  const all = allSettingsOf(config, 'jti_replay').filter((settings) => settings.hygiene.enabled);
  if (all.length === 0) return [];
  const rows = await queryRows(clickhouse, HYGIENE, {
    ...windowParams(window),
    max_lifetime_seconds: Math.floor(Math.min(...all.map((s) => s.hygiene.max_lifetime_minutes)) * 60),
    max_skew_seconds: Math.floor(Math.min(...all.map((s) => s.hygiene.max_clock_skew_seconds))),
  }, hygieneRow);

  const groups = new Map<string, { issue: HygieneIssue; limit: number; rows: typeof rows }>();
  for (const row of rows) {
    const settings = settingsFor(config, 'jti_replay', row.tenant, row.client_id);
    if (!settings.enabled || !settings.hygiene.enabled) continue;
    const issues: Array<[HygieneIssue, number]> = [];
    if (row.missing_jti) issues.push(['missing_jti', 0]);
    if (row.lifetime_seconds !== null && row.lifetime_seconds > settings.hygiene.max_lifetime_minutes * 60) {
      issues.push(['long_lifetime', settings.hygiene.max_lifetime_minutes]);
    }
    if (row.iat_age_seconds !== null && Math.abs(row.iat_age_seconds) > settings.hygiene.max_clock_skew_seconds) {
      issues.push(['iat_skew', settings.hygiene.max_clock_skew_seconds]);
    }
    const day = Math.floor(row.time_ms / DAY_MS) * DAY_MS;
    for (const [issue, limit] of issues) {
      const key = [row.tenant, row.client_id, issue, day].join('\u0000');
      const group = groups.get(key) ?? { issue, limit, rows: [] };
      group.rows.push(row);
      groups.set(key, group);
    }
  }
  return [...groups.values()].map(({ issue, limit, rows: issueRows }) => {
    const first = issueRows[0]!;
    const lifetimes = issueRows.map((row) => row.lifetime_seconds).filter((value): value is number => value !== null);
    const ages = issueRows.map((row) => row.iat_age_seconds).filter((value): value is number => value !== null);
    return ASSERTION_HYGIENE.draft({
      severity: 'low',
      tenant: first.tenant,
      client_id: first.client_id,
      client_name: first.client_name,
      alert_key: issue,
      window_start: Math.floor(first.time_ms / DAY_MS) * DAY_MS,
      first_seen: first.time_ms,
      last_seen: issueRows.at(-1)!.time_ms,
      event_count: issueRows.length,
      summary: `${HYGIENE_TEXT[issue](issueRows.length, limit)} (client ${first.client_id}, this UTC day).`,
      evidence: {
        issue,
        requests: issueRows.length,
        limit,
        max_lifetime_seconds: lifetimes.length > 0 ? Math.max(...lifetimes) : null,
        max_iat_offset_seconds: ages.length > 0 ? Math.max(...ages.map(Math.abs)) : null,
      },
      event_ids: issueRows.slice(0, 100).map((row) => row.event_id),
    });
  });
}
