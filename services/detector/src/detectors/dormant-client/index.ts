import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type DormantClientConfig } from '../../config.js';
import { windowParams, type Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { DORMANT_CLIENT } from './findings.js';

const WAKES = sql(import.meta.url, './wakes.sql');
const RECENT_DAYS = sql(import.meta.url, './recent-days.sql');
const HISTORY = sql(import.meta.url, './history.sql');

/** A user agent is free text of up to 1 KiB; the evidence shows its start. */
const USER_AGENT_SHOWN = 300;

const wakeRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  ...requestSpanColumns,
  first_asn: z.coerce.number(),
  first_as_org: z.string(),
  first_country: z.string(),
  first_auth_method: z.string(),
  first_user_agent: z.string(),
  asns: z.array(z.coerce.number()),
  credentials: z.array(z.string()),
  ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
export type Wake = z.output<typeof wakeRow>;

const dayRow = z.object({ tenant: z.string(), client_id: z.string(), first_ms: z.coerce.number(), last_ms: z.coerce.number() });

const historyRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  day: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
  credential_id: z.string(),
  ...requestSpanColumns,
});
export type HistoryRow = z.output<typeof historyRow>;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const days = (ms: number) => Math.round((ms / DAY_MS) * 10) / 10;
const daysText = (count: number) => `${count} ${count === 1 ? 'day' : 'days'}`;

/**
 * dormant_client: a machine client that got no token for a month and longer than any gap in
 * its own history gets one. An abandoned client whose secret or key still works is the
 * credential an attacker finds in an old repository or CI variable (OWASP NHI1, improper
 * offboarding); nobody watches it, and its wake is the first sign of use.
 *
 * Cost per tick: the window's requests (wakes.sql), dormant_days of day-rows per active client
 * from the client_locations rollup (recent-days.sql), and the whole rollup history only of the
 * few clients that slept (history.sql).
 */
export const dormantClient: Detector = {
  name: 'dormant_client',
  findings: [DORMANT_CLIENT],
  enabled: (config) => allSettingsOf(config, 'dormant_client').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config } = context;
    const wakes = (await queryRows(clickhouse, WAKES, windowParams(window), wakeRow)).filter(
      (wake) => settingsFor(config, 'dormant_client', wake.tenant, wake.client_id).enabled,
    );
    if (wakes.length === 0) return [];

    // Asleep: no successful request in the last dormant_days before the window's first one.
    const longestDormancy = Math.max(...allSettingsOf(config, 'dormant_client').map((settings) => settings.dormant_days));
    const recent = groupBy(
      await queryRows(clickhouse, RECENT_DAYS, {
        ...keysOf(wakes),
        from: isoDay(Math.min(...wakes.map((wake) => wake.first_ms)) - (longestDormancy + 1) * DAY_MS),
        to: isoDay(Math.max(...wakes.map((wake) => wake.first_ms))),
      }, dayRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const known = await readClientHistory(clickhouse, wakes);
    const asleep = wakes.filter((wake) => {
      const key = clientKey(wake.tenant, wake.client_id);
      const { dormant_days } = settingsFor(config, 'dormant_client', wake.tenant, wake.client_id);
      const firstSeen = known.get(key)?.firstSeen ?? wake.first_ms;
      const latest = latestBefore(recent.get(key) ?? [], wake.first_ms);
      return firstSeen < wake.first_ms - dormant_days * DAY_MS && (latest === undefined || latest < wake.first_ms - dormant_days * DAY_MS);
    });
    if (asleep.length === 0) return [];

    const histories = groupBy(
      await queryRows(clickhouse, HISTORY, { ...keysOf(asleep), to: isoDay(Math.max(...asleep.map((wake) => wake.first_ms))) }, historyRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const allowlist = new Allowlist(config.allowlist);
    const drafts: AlertDraft[] = [];
    for (const wake of asleep) {
      const key = clientKey(wake.tenant, wake.client_id);
      if (allowlist.match('dormant_client', { ...wake, asn: wake.first_asn, country: wake.first_country }, window.now)) continue;
      const draft = judgeWake(wake, histories.get(key) ?? [], settingsFor(config, 'dormant_client', wake.tenant, wake.client_id));
      if (draft) drafts.push({ ...draft, client_name: wake.client_name || (known.get(key)?.clientName ?? '') });
    }
    return drafts;
  },
};

function keysOf(rows: ReadonlyArray<{ tenant: string; client_id: string }>) {
  return { tenants: [...new Set(rows.map((row) => row.tenant))], clients: [...new Set(rows.map((row) => row.client_id))] };
}

/**
 * The latest successful request before `at` that day-rows show: a row's last request when the
 * whole row is earlier, else its first (a day with requests before and after `at` means the
 * client was active that same day).
 */
export function latestBefore(rows: ReadonlyArray<{ first_ms: number; last_ms: number }>, at: number): number | undefined {
  let latest: number | undefined;
  for (const row of rows) {
    if (row.first_ms >= at) continue;
    const seen = row.last_ms < at ? row.last_ms : row.first_ms;
    latest = latest === undefined ? seen : Math.max(latest, seen);
  }
  return latest;
}

/**
 * The sleep ending at `wake`: its length and the longest gap between active days before it,
 * from history rows (anything at or after the wake is ignored: a backtest's rollup holds the
 * future too). Undefined when the client has no successful history before the wake.
 */
export function sleepBefore(rows: ReadonlyArray<{ day: string; first_ms: number; last_ms: number }>, wake: number) {
  const spans = new Map<string, { first: number; last: number }>();
  for (const row of rows) {
    if (row.first_ms >= wake) continue;
    const span = spans.get(row.day);
    const last = Math.min(row.last_ms, wake);
    if (span) {
      span.first = Math.min(span.first, row.first_ms);
      span.last = Math.max(span.last, last);
    } else spans.set(row.day, { first: row.first_ms, last });
  }
  const ordered = [...spans.values()].sort((a, b) => a.first - b.first);
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  if (!first || !last) return undefined;
  let longestGap = 0;
  for (let i = 1; i < ordered.length; i++) longestGap = Math.max(longestGap, (ordered[i]?.first ?? 0) - (ordered[i - 1]?.last ?? 0));
  return { firstSeen: first.first, lastSeen: last.last, slept: wake - last.last, longestGap };
}

export function judgeWake(wake: Wake, history: readonly HistoryRow[], settings: DormantClientConfig): AlertDraft | undefined {
  const sleep = sleepBefore(history, wake.first_ms);
  if (!sleep) return undefined;
  if (sleep.slept < settings.dormant_days * DAY_MS) return undefined;
  // Weekly, monthly and quarterly jobs sleep as long as they always have.
  if (sleep.slept <= sleep.longestGap * settings.gap_margin) return undefined;
  // A client seen for a day and then a month later is a monthly job's second run as often as a
  // wake: judge only clients with learning_days of history before the sleep.
  if (sleep.lastSeen - sleep.firstSeen < settings.learning_days * DAY_MS) return undefined;

  const before = history.filter((row) => row.first_ms < wake.first_ms);
  const usualAsns = new Set(before.map((row) => row.asn));
  const usualCredentials = new Set(before.map((row) => row.credential_id));
  const newAsns = wake.asns.filter((asn) => asn > 0 && !usualAsns.has(asn));
  const newCredentials = wake.credentials.filter((credential) => credential !== '' && !usualCredentials.has(credential));
  const networks = summarise(before, (row) => `${row.asn}\u0000${row.country}`);
  const credentials = summarise(before.filter((row) => row.credential_id !== ''), (row) => row.credential_id);
  const where = `${wake.ips[0] ?? 'an unknown address'} (${wake.first_asn > 0 ? `AS${wake.first_asn}${wake.first_as_org ? ` ${wake.first_as_org}` : ''}` : 'unknown network'}${wake.first_country ? `, ${wake.first_country}` : ''})`;
  const usualText = networks.slice(0, 3).map((network) => (network.asn > 0 ? `AS${network.asn}${network.as_org ? ` ${network.as_org}` : ''}` : 'an unknown network')).join(', ');
  const news = [
    ...(newAsns.length > 0 ? ['a network it never used'] : []),
    ...(newCredentials.length > 0 ? [`credential ${newCredentials[0]} it never used`] : []),
  ];

  return DORMANT_CLIENT.draft({
    severity: news.length > 0 ? 'high' : 'medium',
    tenant: wake.tenant,
    client_id: wake.client_id,
    client_name: wake.client_name,
    // The sleep's start: a re-run over the same wake (a crash, a backtest) finds the same alert.
    alert_key: `slept-since:${iso(sleep.lastSeen)}`,
    window_start: wake.first_ms,
    first_seen: wake.first_ms,
    last_seen: wake.last_ms,
    event_count: wake.requests,
    summary:
      `client ${wake.client_id} got a token from ${where} after ${daysText(Math.floor(days(sleep.slept)))} without one ` +
      `(last on ${isoDay(sleep.lastSeen)}; its longest gap before was ${daysText(days(sleep.longestGap))})` +
      `${news.length > 0 ? `, from ${news.join(' and with ')}` : ''}${usualText ? `; it used to come from ${usualText}` : ''}.`,
    evidence: {
      last_seen_before: iso(sleep.lastSeen),
      slept_days: days(sleep.slept),
      longest_gap_days: days(sleep.longestGap),
      client_first_seen: iso(sleep.firstSeen),
      woke: {
        first_request: iso(wake.first_ms),
        source_ips: wake.ips,
        asn: wake.first_asn,
        as_org: wake.first_as_org,
        country: wake.first_country,
        credential_ids: wake.credentials.filter((credential) => credential !== ''),
        auth_method: wake.first_auth_method,
        user_agent: wake.first_user_agent.slice(0, USER_AGENT_SHOWN),
        new_network: newAsns.length > 0,
        new_credential: newCredentials.length > 0,
      },
      usual_networks: networks.slice(0, 10).map(({ asn, as_org, country, first_seen, last_seen, requests }) => ({
        asn, as_org, country, first_seen: iso(first_seen), last_seen: iso(last_seen), requests,
      })),
      usual_credentials: credentials.slice(0, 10).map(({ credential_id, first_seen, last_seen, requests }) => ({
        credential_id, first_seen: iso(first_seen), last_seen: iso(last_seen), requests,
      })),
    },
    event_ids: wake.event_ids,
  });
}

/** History rows merged by `keyOf`, with first and last seen and a count, busiest first. */
function summarise(rows: readonly HistoryRow[], keyOf: (row: HistoryRow) => string) {
  const merged = new Map<string, HistoryRow & { first_seen: number; last_seen: number }>();
  for (const row of rows) {
    const key = keyOf(row);
    const entry = merged.get(key);
    if (entry) {
      entry.first_seen = Math.min(entry.first_seen, row.first_ms);
      entry.last_seen = Math.max(entry.last_seen, row.last_ms);
      entry.requests += row.requests;
      if (!entry.as_org) entry.as_org = row.as_org;
    } else merged.set(key, { ...row, first_seen: row.first_ms, last_seen: row.last_ms });
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests);
}
