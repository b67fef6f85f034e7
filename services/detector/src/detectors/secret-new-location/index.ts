import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft, Severity } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type DetectorsConfig } from '../../config.js';
import { windowParams, type DetectContext, type Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { SECRET_NEW_LOCATION } from './findings.js';

const NEW_SECRET_USES = sql(import.meta.url, './new-secret-uses.sql');
const KNOWN_LOCATIONS = sql(import.meta.url, './known-locations.sql');

/**
 * A location stays "new" for this long after its first request: further requests from it
 * update the same alert (count, last_seen) instead of passing silently as "seen before".
 */
const NEW_FOR_MS = DAY_MS;

const useRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  auth_method: z.string(),
  credential_id: z.string(),
  country: z.string(),
  asn: z.coerce.number(),
  network: z.string(),
  as_org: z.string(),
  hosting_provider: z.string(),
  ...requestSpanColumns,
  ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
type Use = z.output<typeof useRow>;

const knownRow = useRow.pick({
  tenant: true,
  client_id: true,
  credential_id: true,
  country: true,
  asn: true,
  network: true,
  as_org: true,
  hosting_provider: true,
  first_ms: true,
  last_ms: true,
  requests: true,
});
type Known = z.output<typeof knownRow>;

/** Coarse to fine: a new country says more than a new network inside a known ASN. */
const LEVELS = [
  { level: 'country', severity: 'high', valueOf: (row: Known | Use) => row.country },
  { level: 'asn', severity: 'medium', valueOf: (row: Known | Use) => (row.asn > 0 ? String(row.asn) : '') },
  { level: 'network', severity: 'low', valueOf: (row: Known | Use) => row.network },
] as const satisfies ReadonlyArray<{ level: keyof DetectorsConfig['secret_new_location']['levels']; severity: Severity; valueOf: unknown }>;

const LOWER: Record<Severity, Severity> = { critical: 'high', high: 'medium', medium: 'low', low: 'info', info: 'info' };

/**
 * secret_new_location: a shared secret is silently reusable from anywhere, so its use from a
 * country, ASN or network the client has not used in the lookback is the signal of a leak
 * (OWASP NHI2). Judged per client, and per credential when the IdP logs which one was used.
 */
export const secretNewLocation: Detector = {
  name: 'secret_new_location',
  findings: [SECRET_NEW_LOCATION],
  enabled: (config) => config.secret_new_location.enabled,
  async detect(context, window) {
    const { clickhouse, config } = context;
    const methods = [...new Set(allSettingsOf(config, 'secret_new_location').flatMap((settings) => settings.methods))];
    const uses = (await queryRows(clickhouse, NEW_SECRET_USES, { ...windowParams(window), methods }, useRow)).filter((use) => {
      const settings = settingsFor(config, 'secret_new_location', use.tenant, use.client_id);
      return settings.enabled && settings.methods.includes(use.auth_method as (typeof settings.methods)[number]);
    });
    if (uses.length === 0) return [];

    const history = await readClientHistory(clickhouse, uses);
    const lookbackDays = Math.max(...allSettingsOf(config, 'secret_new_location').map((settings) => settings.lookback_days));
    const earliest = Math.min(...uses.map((use) => use.first_ms)) - NEW_FOR_MS;
    const latest = Math.max(...uses.map((use) => use.last_ms));
    // Each client's own last active days: the lookback, plus the days the uses themselves span.
    const activeDays = lookbackDays + Math.ceil((latest - earliest) / DAY_MS) + 2;
    const known = groupBy(
      await queryRows(clickhouse, KNOWN_LOCATIONS, {
        tenants: [...new Set(uses.map((use) => use.tenant))],
        clients: [...new Set(uses.map((use) => use.client_id))],
        to: new Date(latest).toISOString().slice(0, 10),
        active_days: activeDays,
      }, knownRow),
      (row) => clientKey(row.tenant, row.client_id),
    );

    const allowlist = new Allowlist(config.allowlist);
    const drafts: AlertDraft[] = [];
    for (const use of uses) {
      const settings = settingsFor(config, 'secret_new_location', use.tenant, use.client_id);
      if (allowlist.match('secret_new_location', use, window.now)) continue;
      const firstSeen = history.get(clientKey(use.tenant, use.client_id))?.firstSeen ?? use.first_ms;
      const clientRows = known.get(clientKey(use.tenant, use.client_id)) ?? [];
      const lookbackMs = settings.lookback_days * DAY_MS;
      const draft = findNewLocation(use, clientRows, { lookbackMs, learningMs: settings.learning_days * DAY_MS, firstSeen }, settings.levels);
      if (draft) drafts.push({ ...draft, client_name: use.client_name || (history.get(clientKey(use.tenant, use.client_id))?.clientName ?? '') });
    }
    return drafts;
  },
};

function findNewLocation(
  use: Use,
  clientRows: readonly Known[],
  { lookbackMs, learningMs, firstSeen }: { lookbackMs: number; learningMs: number; firstSeen: number },
  levels: DetectorsConfig['secret_new_location']['levels'],
): AlertDraft | undefined {
  for (const { level, severity, valueOf } of LEVELS) {
    const value = valueOf(use);
    if (!value) continue;
    const sightings = clientRows.filter((row) => valueOf(row) === value);
    const start = episodeStart(sightings, use.first_ms, lookbackMs, activeDaysOf(clientRows));
    if (start < use.first_ms - NEW_FOR_MS) {
      // Known to the client; still new to this credential if the credential has its own history.
      if (!use.credential_id) continue;
      const credentialRows = clientRows.filter((row) => row.credential_id === use.credential_id);
      const credentialStart = episodeStart(
        credentialRows.filter((row) => valueOf(row) === value),
        use.first_ms,
        lookbackMs,
        activeDaysOf(credentialRows),
      );
      const credentialFirst = Math.min(...credentialRows.map((row) => row.first_ms));
      // A freshly rotated credential has no places of its own yet: only one with a learning
      // period of history is judged on its own.
      if (credentialStart < use.first_ms - NEW_FOR_MS || credentialStart - credentialFirst < learningMs) continue;
      if (!levels[level]) return undefined;
      return draft(use, level, value, LOWER[severity], credentialStart, credentialRows, valueOf, `credential ${use.credential_id} `);
    }
    if (!levels[level] || start - firstSeen < learningMs) return undefined;
    return draft(use, level, value, severity, start, clientRows, valueOf, '');
  }
  return undefined;
}

/**
 * When the current run of sightings of a location began: walk back from `at` through day
 * rows while each is within the lookback of the run's start so far. A location seen
 * continuously for months starts months ago; one first used an hour ago starts an hour ago.
 *
 * "Within the lookback" is counted in the client's own active days, not only on the calendar:
 * a gap in which the client made fewer than lookback-days active days (a monthly job's silence
 * of 31 days) does not forget its places. `activeDays` are the client's (or credential's)
 * active UTC day numbers (`activeDaysOf`); the calendar rule still holds as well, so this is
 * never stricter than a calendar lookback.
 */
export function episodeStart(
  sightings: ReadonlyArray<{ first_ms: number; last_ms: number }>,
  at: number,
  lookbackMs: number,
  activeDays: readonly number[],
): number {
  const lookbackDays = lookbackMs / DAY_MS;
  let start = at;
  const latestFirst = [...sightings].filter((row) => row.first_ms <= at).sort((a, b) => b.last_ms - a.last_ms);
  for (const row of latestFirst) {
    const calendarKnown = row.last_ms >= start - lookbackMs;
    if (!calendarKnown && activeDaysBetween(activeDays, row.last_ms, start) >= lookbackDays) break;
    start = Math.min(start, row.first_ms);
  }
  return start;
}

/** The distinct UTC day numbers on which these rows saw activity, ascending. */
export function activeDaysOf(rows: ReadonlyArray<{ first_ms: number; last_ms: number }>): number[] {
  const days = new Set<number>();
  for (const row of rows) {
    days.add(Math.floor(row.first_ms / DAY_MS));
    days.add(Math.floor(row.last_ms / DAY_MS));
  }
  return [...days].sort((a, b) => a - b);
}

/** How many active days lie strictly between the days of `from` and `to`. */
function activeDaysBetween(activeDays: readonly number[], from: number, to: number): number {
  const after = Math.floor(from / DAY_MS);
  const before = Math.floor(to / DAY_MS);
  return activeDays.filter((day) => day > after && day < before).length;
}

function draft(
  use: Use,
  level: string,
  value: string,
  severity: Severity,
  start: number,
  rows: readonly Known[],
  valueOf: (row: Known | Use) => string,
  scope: string,
): AlertDraft {
  const episode = rows.filter((row) => valueOf(row) === value && row.first_ms >= start);
  const before = summarise(rows.filter((row) => row.last_ms < start), valueOf);
  const where = describe(use);
  const knownText = before.slice(0, 3).map((location) => location.value).join(', ');
  return SECRET_NEW_LOCATION.draft({
    severity,
    tenant: use.tenant,
    client_id: use.client_id,
    client_name: use.client_name,
    alert_key: `${scope ? `credential:${use.credential_id}:` : ''}${level}:${value}`,
    window_start: start,
    first_seen: start,
    last_seen: Math.max(use.last_ms, ...episode.map((row) => row.last_ms)),
    event_count: Math.max(use.requests, episode.reduce((sum, row) => sum + row.requests, 0)),
    summary:
      `client ${use.client_id} ${scope}authenticated with a shared secret (${use.auth_method}) from ${where}, ` +
      `a ${level === 'asn' ? 'network operator (ASN)' : level} it has not used before${knownText ? ` (it usually comes from ${knownText})` : ''}.`,
    evidence: {
      level,
      new_location: {
        value,
        country: use.country,
        asn: use.asn,
        as_org: use.as_org,
        network: use.network,
        hosting_provider: use.hosting_provider,
        source_ips: use.ips,
        first_seen: new Date(start).toISOString(),
      },
      auth_method: use.auth_method,
      credential_id: use.credential_id,
      known_locations: before.slice(0, 10).map((location) => ({
        ...location,
        first_seen: new Date(location.first_seen).toISOString(),
        last_seen: new Date(location.last_seen).toISOString(),
      })),
    },
    event_ids: use.event_ids,
  });
}

function describe(use: Use): string {
  const asn = use.asn > 0 ? `AS${use.asn}${use.as_org ? ` ${use.as_org}` : ''}` : 'an unknown network';
  return `${use.ips[0] ?? use.network} (${asn}${use.country ? `, ${use.country}` : ''}${use.hosting_provider ? `, hosting: ${use.hosting_provider}` : ''})`;
}

/** Locations at one level with when they were first and last seen and how often. */
function summarise(rows: readonly Known[], valueOf: (row: Known) => string) {
  const locations = new Map<string, { value: string; as_org: string; first_seen: number; last_seen: number; requests: number }>();
  for (const row of rows) {
    const value = valueOf(row);
    if (!value) continue;
    const location = locations.get(value) ?? { value, as_org: row.as_org, first_seen: row.first_ms, last_seen: row.last_ms, requests: 0 };
    location.first_seen = Math.min(location.first_seen, row.first_ms);
    location.last_seen = Math.max(location.last_seen, row.last_ms);
    location.requests += row.requests;
    locations.set(value, location);
  }
  return [...locations.values()].sort((a, b) => b.requests - a.requests);
}
