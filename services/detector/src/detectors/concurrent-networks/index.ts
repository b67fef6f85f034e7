import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type AllowlistEntry, type ConcurrentNetworksConfig } from '../../config.js';
import { windowParams, type DetectContext, type Detector, type DetectWindow } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { CONCURRENT_NETWORKS } from './findings.js';
import {
  FIRST_SCAN_STATE,
  absoluteSlot,
  episodes,
  mostAsnsAround,
  resumeEpisodes,
  runLength,
  slotOf,
  slotStartMs,
  slotTimeline,
  SLOTS_PER_DAY,
  type AsnSlots,
  type Episode,
} from './slots.js';
import { ScanCache, type ClientCheckpoint, type ScopeCheckpoint } from './scan-cache.js';

const TOUCHED = sql(import.meta.url, './touched.sql');
const SLOTS = sql(import.meta.url, './slots.sql');
const BURST_NETWORKS = sql(import.meta.url, './burst-networks.sql');

const touchedRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  credential: z.string(),
  slots: z.array(z.coerce.number()),
  first_slot: z.coerce.number(),
});
type Touched = z.output<typeof touchedRow>;

const slotRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  day: z.string(),
  credential: z.string(),
  asn: z.coerce.number(),
  slots: z.array(z.coerce.number()),
  as_org: z.string(),
  country: z.string(),
  ...requestSpanColumns,
});
export type SlotRow = z.output<typeof slotRow>;

const burstRow = z.object({
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
  ...requestSpanColumns,
  ips: z.array(z.string()),
  credentials: z.array(z.string()),
  event_ids: z.array(z.string()),
});
type BurstNetwork = z.output<typeof burstRow>;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();

/** The whole retained history: the rollup's TTL bounds it. */
const EPOCH_DAY = '1970-01-01';
/** A checkpoint descends from a whole-history read at most this old: expired rollup days then leave the baseline. */
const REBUILD_AFTER_MS = DAY_MS;

/**
 * concurrent_networks: one client, or one of its credentials, mints tokens from more distinct
 * ASNs inside one window than its own history ever showed, by `margin` or more. A stolen token
 * or secret used by an attacker while the owner keeps working (Salesloft Drift, 2025) shows as
 * the usual network plus several new ones at once (OWASP NHI2, secret leakage). A multi-region
 * client that always mints from three providers has three as its usual maximum and stays quiet.
 *
 * Cost per tick: the window's requests (touched.sql), the client_asn_slots rollup's slots around
 * them per active client (slots.sql), and for candidates (clients with 1 + margin ASNs in a
 * window around the new requests) the days since their checkpoint (scan-cache.ts: the history
 * summarised once, normally up to yesterday), so a tick costs O(new data) whatever the history.
 * A candidate without a usable checkpoint reads its whole retained history once; a burst reads
 * its client's history for the evidence (the usual networks). Never token_requests' history:
 * one burst's requests are read by primary key for the evidence.
 */
export function createConcurrentNetworks(cache = new ScanCache()): Detector {
  let allowlistKey: string | undefined;
  let seenUntil = 0;

  async function detect(context: DetectContext, window: DetectWindow): Promise<AlertDraft[]> {
    const { clickhouse, config } = context;
    const settingsOf = (row: { tenant: string; client_id: string }) => settingsFor(config, 'concurrent_networks', row.tenant, row.client_id);
    const arrived = await queryRows(clickhouse, TOUCHED, windowParams(window), touchedRow);
    forgetStale(window, config.allowlist, arrived);
    const touched = arrived.filter((row) => settingsOf(row).enabled);
    if (touched.length === 0) return [];

    const allowlist = new Allowlist(config.allowlist);
    // Allowlisted networks (by client, ASN or country) do not count: the rollup knows no addresses.
    const counted = (row: SlotRow) => !allowlist.match('concurrent_networks', { tenant: row.tenant, client_id: row.client_id, asn: row.asn, country: row.country, ips: [] }, window.now);
    const longestRun = Math.max(...allSettingsOf(config, 'concurrent_networks').map((settings) => runLength(settings.concurrent_window_minutes)));
    const touchedSlots = touched.flatMap((row) => row.slots);
    // Every run that contains a touched slot lies between these two.
    const firstSlot = Math.min(...touched.map((row) => row.first_slot)) - longestRun;
    const lastSlot = Math.max(...touchedSlots) + longestRun;
    const fromDay = isoDay(slotStartMs(firstSlot));
    const toDay = isoDay(slotStartMs(lastSlot));
    const recent = groupBy(
      (await queryRows(clickhouse, SLOTS, { ...keysOf(touched), from: fromDay, to: toDay, first_slot: firstSlot, last_slot: lastSlot }, slotRow)).filter(counted),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const byClient = groupBy(touched, (row) => clientKey(row.tenant, row.client_id));
    const candidates = [...byClient.values()].filter((rows) => {
      const first = rows[0];
      if (!first) return false;
      const settings = settingsOf(first);
      const clientRows = recent.get(clientKey(first.tenant, first.client_id)) ?? [];
      const length = runLength(settings.concurrent_window_minutes);
      // Every scope's history has at least one network, so fewer than 1 + margin is never news.
      return rows.some((row) => {
        const scopeRows = row.credential === '' ? clientRows : clientRows.filter((slot) => slot.credential === row.credential);
        return mostAsnsAround(slotTimeline(scopeRows.map(absolute)), length, row.slots) >= 1 + settings.margin;
      }) || mostAsnsAround(slotTimeline(clientRows.map(absolute)), length, rows.flatMap((row) => row.slots)) >= 1 + settings.margin;
    });
    if (candidates.length === 0) return [];

    // Each candidate's checkpoint (none: its whole history), and the rollup days after it.
    const plans = candidates.flatMap((rows) => {
      const first = rows[0];
      if (!first) return [];
      const key = clientKey(first.tenant, first.client_id);
      const settings = settingsOf(first);
      const rules = rulesKey(settings);
      const saved = cache.get(key);
      const usable = saved && saved.rules === rules && saved.day <= fromDay && window.now >= saved.builtAt && window.now - saved.builtAt < REBUILD_AFTER_MS;
      return [{ key, rows, first, settings, rules, saved: usable ? saved : undefined }];
    });
    const sinceCheckpoint = await readSlots(context, plans.filter((plan) => plan.saved), toDay, counted);
    const wholeHistory = await readSlots(context, plans.filter((plan) => !plan.saved), toDay, counted);
    // Saved before the first request this tick could bring (next tick's fromDay), with a day to spare.
    const checkpointDay = isoDay(Date.parse(`${fromDay}T00:00:00Z`) - DAY_MS);

    const scanned = plans.map(({ key, rows, first, settings, rules, saved }) => {
      const clientRows = (saved ? sinceCheckpoint : wholeHistory).get(key) ?? [];
      const scans = scanClient(clientRows, saved, settings, checkpointDay);
      if (!saved || checkpointDay > saved.day) {
        cache.set(key, { day: checkpointDay, rules, builtAt: saved?.builtAt ?? window.now, scopes: new Map([...scans].map(([scope, scan]) => [scope, scan.checkpoint])) });
      }
      const touchedIn = (scope: string, slots: readonly number[]) =>
        (scans.get(scope)?.found ?? []).filter((episode) => slots.some((slot) => slot >= episode.start && slot <= episode.end));
      const clientBursts = touchedIn('', rows.flatMap((row) => row.slots));
      // One alert per client and burst: the client's, else its credentials'.
      const bursts = clientBursts.length > 0
        ? clientBursts.map((episode) => ({ episode, credential: '' }))
        : rows.filter((row) => row.credential !== '').flatMap((row) => touchedIn(row.credential, row.slots).map((episode) => ({ episode, credential: row.credential })));
      return { key, first, settings, saved, clientRows, bursts };
    });
    const bursting = scanned.filter((client) => client.bursts.length > 0);
    // The usual networks of the evidence need the whole history: read only for a burst, in one
    // query for every bursting client that resumed from a checkpoint (the others read it above).
    const histories = await readSlots(context, bursting.filter((client) => client.saved).map(({ key, first }) => ({ key, first, saved: undefined })), toDay, counted);

    const drafts: AlertDraft[] = [];
    for (const { key, first, settings, saved, clientRows, bursts } of bursting) {
      const history = saved ? histories.get(key) ?? [] : clientRows;
      for (const { episode, credential } of bursts) {
        const networks = await queryRows(clickhouse, BURST_NETWORKS, {
          tenant: first.tenant,
          client_id: first.client_id,
          credential,
          from: toClickHouseTime(slotStartMs(episode.start)),
          to: toClickHouseTime(slotStartMs(episode.end + 1)),
        }, burstRow);
        if (networks.length === 0) continue;
        const scopeRows = credential === '' ? history : history.filter((slot) => slot.credential === credential);
        drafts.push(draftOf({ tenant: first.tenant, client_id: first.client_id, client_name: first.client_name }, credential, episode, networks, scopeRows, settings));
      }
    }
    return drafts;
  }

  /**
   * Drops what the past no longer matches: a client's checkpoint once a request older than it
   * arrives (disabled clients' too: they may be enabled later), and everything when the
   * allowlist in force changes or arrival windows leave a gap (requests this instance never saw).
   */
  function forgetStale(window: DetectWindow, allowlistEntries: readonly AllowlistEntry[], arrived: readonly Touched[]): void {
    const inForce = JSON.stringify(allowlistEntries.filter((entry) => entry.expires > window.now && entry.findings.includes('concurrent_networks')));
    // A backtest (ingestedAfter 0) bounds event time only; live windows follow each other.
    const gap = window.ingestedAfter > 0 && window.ingestedAfter > seenUntil;
    if (inForce !== allowlistKey || gap) cache.clear();
    allowlistKey = inForce;
    if (window.ingestedAfter > 0) seenUntil = Math.max(seenUntil, window.ingestedUntil);
    for (const row of arrived) {
      const key = clientKey(row.tenant, row.client_id);
      const day = cache.dayOf(key);
      if (day !== undefined && row.first_slot < dayStartSlot(day)) cache.delete(key);
    }
  }

  async function readSlots(
    context: DetectContext,
    plans: ReadonlyArray<{ key: string; first: { tenant: string; client_id: string }; saved: ClientCheckpoint | undefined }>,
    toDay: string,
    counted: (row: SlotRow) => boolean,
  ): Promise<Map<string, SlotRow[]>> {
    if (plans.length === 0) return new Map();
    const since = new Map(plans.map((plan) => [plan.key, plan.saved?.day ?? EPOCH_DAY]));
    const from = [...since.values()].reduce((earliest, day) => (day < earliest ? day : earliest));
    const bounds = { from, to: toDay, first_slot: dayStartSlot(from), last_slot: dayStartSlot(toDay) + SLOTS_PER_DAY - 1 };
    const rows = await queryRows(context.clickhouse, SLOTS, { ...keysOf(plans.map((plan) => plan.first)), ...bounds }, slotRow);
    // The IN lists cross tenants and clients: keep each planned client's own days only.
    return groupBy(rows.filter((row) => counted(row) && row.day >= (since.get(clientKey(row.tenant, row.client_id)) ?? '9999')), (row) => clientKey(row.tenant, row.client_id));
  }

  return {
    name: 'concurrent_networks',
    findings: [CONCURRENT_NETWORKS],
    enabled: (config) => allSettingsOf(config, 'concurrent_networks').some((settings) => settings.enabled),
    detect,
  };
}

/** The settings a saved scan depends on. */
function rulesKey(settings: ConcurrentNetworksConfig): string {
  return `${runLength(settings.concurrent_window_minutes)}/${settings.margin}/${settings.learning_days}`;
}

/** The first slot of a day (YYYY-MM-DD). */
const dayStartSlot = (day: string) => absoluteSlot(day, 0);

/**
 * The episodes of the client and of each of its credentials, from its checkpoint (or from the
 * start) over `rows` (the days after it), and each scope's new checkpoint before `checkpointDay`
 * (the old one when that is not later).
 */
export function scanClient(
  rows: readonly SlotRow[],
  saved: ClientCheckpoint | undefined,
  settings: ConcurrentNetworksConfig,
  checkpointDay: string,
): Map<string, { found: Episode[]; checkpoint: ScopeCheckpoint }> {
  const length = runLength(settings.concurrent_window_minutes);
  const from = saved ? dayStartSlot(saved.day) : -Infinity;
  const advance = !saved || checkpointDay > saved.day;
  const checkpointSlot = dayStartSlot(checkpointDay);
  const credentials = new Set([...(saved?.scopes.keys() ?? []), ...rows.map((row) => row.credential)].filter((credential) => credential !== ''));
  const result = new Map<string, { found: Episode[]; checkpoint: ScopeCheckpoint }>();
  for (const scope of ['', ...credentials]) {
    const scopeRows = scope === '' ? rows : rows.filter((row) => row.credential === scope);
    const before = saved?.scopes.get(scope);
    const timeline = slotTimeline([...(before?.tail ?? []), ...scopeRows.map(absolute)]);
    const firstMs = earliest(before?.firstMs ?? Infinity, scopeRows);
    const rules = { length, margin: settings.margin, learnedFrom: slotOf(firstMs + settings.learning_days * DAY_MS) };
    const scan = resumeEpisodes(timeline, rules, { from, state: before?.state ?? FIRST_SCAN_STATE }, advance ? checkpointSlot : undefined);
    const checkpoint: ScopeCheckpoint = advance
      ? {
          state: scan.state ?? FIRST_SCAN_STATE,
          tail: tailOf(timeline, checkpointSlot - length + 1, checkpointSlot),
          firstMs: earliest(before?.firstMs ?? Infinity, scopeRows.filter((row) => row.day < checkpointDay)),
        }
      : (before ?? { state: FIRST_SCAN_STATE, tail: [], firstMs: Infinity });
    result.set(scope, { found: scan.found, checkpoint });
  }
  return result;
}

/** The earliest of `start` and the rows' first requests. */
function earliest(start: number, rows: readonly SlotRow[]): number {
  return rows.reduce((first, row) => Math.min(first, row.first_ms), start);
}

/** The timeline's ASNs per slot in [from, to), as rollup-like rows. */
function tailOf(timeline: ReadonlyMap<number, ReadonlySet<number>>, from: number, to: number): AsnSlots[] {
  const byAsn = new Map<number, number[]>();
  for (let slot = from; slot < to; slot++) {
    for (const asn of timeline.get(slot) ?? []) byAsn.set(asn, [...(byAsn.get(asn) ?? []), slot]);
  }
  return [...byAsn].map(([asn, slots]) => ({ asn, slots }));
}

function keysOf(rows: ReadonlyArray<{ tenant: string; client_id: string }>) {
  return { tenants: [...new Set(rows.map((row) => row.tenant))], clients: [...new Set(rows.map((row) => row.client_id))] };
}

function absolute(row: SlotRow) {
  return { asn: row.asn, slots: row.slots.map((slot) => absoluteSlot(row.day, slot)) };
}

/** The scope's bursts that contain one of the window's slots, from its whole history (scanClient without a checkpoint). */
export function burstsOf(rows: readonly SlotRow[], touched: readonly number[], settings: ConcurrentNetworksConfig): Episode[] {
  if (rows.length === 0) return [];
  const firstMs = Math.min(...rows.map((row) => row.first_ms));
  const found = episodes(slotTimeline(rows.map(absolute)), {
    length: runLength(settings.concurrent_window_minutes),
    margin: settings.margin,
    learnedFrom: slotOf(firstMs + settings.learning_days * DAY_MS),
  });
  return found.filter((episode) => touched.some((slot) => slot >= episode.start && slot <= episode.end));
}

function draftOf(
  client: { tenant: string; client_id: string; client_name: string },
  credential: string,
  episode: Episode,
  networks: readonly BurstNetwork[],
  scopeRows: readonly SlotRow[],
  settings: ConcurrentNetworksConfig,
): AlertDraft {
  const startMs = slotStartMs(episode.start);
  const usual = summarise(scopeRows.filter((row) => row.first_ms < startMs));
  const usualAsns = new Set(usual.map((network) => network.asn));
  const asnText = (network: { asn: number; as_org: string }) => `AS${network.asn}${network.as_org ? ` ${network.as_org}` : ''}`;
  const who = `${credential ? `credential ${credential} of ` : ''}client ${client.client_id}`;
  return CONCURRENT_NETWORKS.draft({
    severity: 'high',
    tenant: client.tenant,
    client_id: client.client_id,
    client_name: client.client_name,
    // The burst's first slot: later ticks of the same burst, and a backtest, find the same alert.
    alert_key: `${credential ? `credential:${credential}:` : ''}burst-from:${iso(startMs)}`,
    window_start: startMs,
    first_seen: Math.min(...networks.map((network) => network.first_ms)),
    last_seen: Math.max(...networks.map((network) => network.last_ms)),
    event_count: networks.reduce((sum, network) => sum + network.requests, 0),
    summary:
      `${who} minted tokens from ${episode.asns} networks (ASNs) within ${settings.concurrent_window_minutes} minutes ` +
      `(${networks.slice(0, 5).map(asnText).join(', ')}); the most it used in such a window before was ${episode.usual}` +
      `${usual.length > 0 ? ` (it usually comes from ${usual.slice(0, 3).map(asnText).join(', ')})` : ''}.`,
    evidence: {
      scope: credential ? 'credential' : 'client',
      credential_id: credential,
      window_minutes: settings.concurrent_window_minutes,
      networks_in_window: episode.asns,
      usual_max_networks: episode.usual,
      burst_networks: networks.map((network) => ({
        asn: network.asn,
        as_org: network.as_org,
        country: network.country,
        first_seen: iso(network.first_ms),
        last_seen: iso(network.last_ms),
        requests: network.requests,
        source_ips: network.ips,
        credential_ids: network.credentials.filter((id) => id !== ''),
        new_network: !usualAsns.has(network.asn),
      })),
      usual_networks: usual.slice(0, 10).map((network) => ({
        asn: network.asn,
        as_org: network.as_org,
        country: network.country,
        first_seen: iso(network.first_ms),
        last_seen: iso(network.last_ms),
        requests: network.requests,
      })),
    },
    event_ids: networks.flatMap((network) => network.event_ids).slice(0, 20),
  });
}

/** Rollup rows merged per ASN, busiest first. */
function summarise(rows: readonly SlotRow[]) {
  const merged = new Map<number, { asn: number; as_org: string; country: string; first_ms: number; last_ms: number; requests: number }>();
  for (const row of rows) {
    const entry = merged.get(row.asn);
    if (entry) {
      entry.first_ms = Math.min(entry.first_ms, row.first_ms);
      entry.last_ms = Math.max(entry.last_ms, row.last_ms);
      entry.requests += row.requests;
      if (!entry.as_org) entry.as_org = row.as_org;
    } else merged.set(row.asn, { asn: row.asn, as_org: row.as_org, country: row.country, first_ms: row.first_ms, last_ms: row.last_ms, requests: row.requests });
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests);
}
