import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type ConcurrentNetworksConfig } from '../../config.js';
import { windowParams, type Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { CONCURRENT_NETWORKS } from './findings.js';
import { absoluteSlot, episodes, mostAsnsAround, runLength, slotOf, slotStartMs, slotTimeline, type Episode } from './slots.js';

const TOUCHED = sql(import.meta.url, './touched.sql');
const SLOTS = sql(import.meta.url, './slots.sql');
const BURST_NETWORKS = sql(import.meta.url, './burst-networks.sql');

const touchedRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  credential: z.string(),
  slots: z.array(z.coerce.number()),
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
type SlotRow = z.output<typeof slotRow>;

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

/**
 * concurrent_networks: one client, or one of its credentials, mints tokens from more distinct
 * ASNs inside one window than its own history ever showed, by `margin` or more. A stolen token
 * or secret used by an attacker while the owner keeps working (Salesloft Drift, 2025) shows as
 * the usual network plus several new ones at once (OWASP NHI2, secret leakage). A multi-region
 * client that always mints from three providers has three as its usual maximum and stays quiet.
 *
 * Cost per tick: the window's requests (touched.sql), two or three days of the client_asn_slots
 * rollup per active client (slots.sql), and the rollup's whole history only of candidates
 * (clients with 1 + margin ASNs in a window around the new requests), never token_requests'
 * history. One burst's requests are read by primary key for the evidence.
 */
export const concurrentNetworks: Detector = {
  name: 'concurrent_networks',
  findings: [CONCURRENT_NETWORKS],
  enabled: (config) => allSettingsOf(config, 'concurrent_networks').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config } = context;
    const settingsOf = (row: { tenant: string; client_id: string }) => settingsFor(config, 'concurrent_networks', row.tenant, row.client_id);
    const touched = (await queryRows(clickhouse, TOUCHED, windowParams(window), touchedRow)).filter((row) => settingsOf(row).enabled);
    if (touched.length === 0) return [];

    const allowlist = new Allowlist(config.allowlist);
    // Allowlisted networks (by client, ASN or country) do not count: the rollup knows no addresses.
    const counted = (row: SlotRow) => !allowlist.match('concurrent_networks', { tenant: row.tenant, client_id: row.client_id, asn: row.asn, country: row.country, ips: [] }, window.now);
    const longestRun = Math.max(...allSettingsOf(config, 'concurrent_networks').map((settings) => runLength(settings.concurrent_window_minutes)));
    const touchedSlots = touched.flatMap((row) => row.slots);
    const last = Math.max(...touchedSlots) + longestRun;
    const recent = groupBy(
      (await queryRows(clickhouse, SLOTS, {
        ...keysOf(touched),
        from: isoDay(slotStartMs(Math.min(...touchedSlots) - longestRun)),
        to: isoDay(slotStartMs(last)),
      }, slotRow)).filter(counted),
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

    const history = groupBy(
      (await queryRows(clickhouse, SLOTS, { ...keysOf(candidates.flat()), from: EPOCH_DAY, to: isoDay(slotStartMs(last)) }, slotRow)).filter(counted),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const drafts: AlertDraft[] = [];
    for (const rows of candidates) {
      const first = rows[0];
      if (!first) continue;
      const settings = settingsOf(first);
      const clientRows = history.get(clientKey(first.tenant, first.client_id)) ?? [];
      const clientSlots = rows.flatMap((row) => row.slots);
      const clientBursts = burstsOf(clientRows, clientSlots, settings);
      // One alert per client and burst: the client's, else its credentials'.
      const bursts = clientBursts.length > 0
        ? clientBursts.map((episode) => ({ episode, credential: '', scopeRows: clientRows }))
        : rows.filter((row) => row.credential !== '').flatMap((row) => {
          const scopeRows = clientRows.filter((slot) => slot.credential === row.credential);
          return burstsOf(scopeRows, row.slots, settings).map((episode) => ({ episode, credential: row.credential, scopeRows }));
        });
      for (const { episode, credential, scopeRows } of bursts) {
        const networks = await queryRows(clickhouse, BURST_NETWORKS, {
          tenant: first.tenant,
          client_id: first.client_id,
          credential,
          from: toClickHouseTime(slotStartMs(episode.start)),
          to: toClickHouseTime(slotStartMs(episode.end + 1)),
        }, burstRow);
        if (networks.length === 0) continue;
        drafts.push(draftOf({ tenant: first.tenant, client_id: first.client_id, client_name: first.client_name }, credential, episode, networks, scopeRows, settings));
      }
    }
    return drafts;
  },
};

function keysOf(rows: ReadonlyArray<{ tenant: string; client_id: string }>) {
  return { tenants: [...new Set(rows.map((row) => row.tenant))], clients: [...new Set(rows.map((row) => row.client_id))] };
}

function absolute(row: SlotRow) {
  return { asn: row.asn, slots: row.slots.map((slot) => absoluteSlot(row.day, slot)) };
}

/** The scope's bursts that contain one of the window's slots. */
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
