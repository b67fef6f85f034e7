import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS, MINUTE_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type NewCredentialConfig } from '../../config.js';
import { credentialKey, readClientCredentials, readCredentialUses, type CredentialLife, type CredentialUse } from '../../credentials.js';
import type { Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { NEW_CREDENTIAL } from './findings.js';

const CREDENTIAL_DAYS = sql(import.meta.url, './credential-days.sql');
const CLIENT_NETWORKS = sql(import.meta.url, './client-networks.sql');

/**
 * A credential's "first uses" are its first day: further requests in it update the same alert
 * (count, last_seen); later ones are a known credential's.
 */
const FIRST_USES_MS = DAY_MS;

const dayRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  day: z.string(),
  credential_source: z.string(),
  credential: z.string(),
  asn: z.coerce.number(),
  country: z.string(),
  as_org: z.string(),
  ...requestSpanColumns,
  ips: z.array(z.string()),
});
export type CredentialDay = z.output<typeof dayRow>;

const networkRow = z.object({ tenant: z.string(), client_id: z.string(), asn: z.coerce.number(), first_ms: z.coerce.number() });

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();

/** What the detector knows of one client when it judges a credential's first uses. */
export interface CredentialContext {
  /** Every credential of the client (client_credentials), the judged one included. */
  readonly credentials: readonly CredentialLife[];
  /** The client's credential_days rows around the first uses. */
  readonly days: readonly CredentialDay[];
  /** The client's ASNs (client_locations) with their first use. */
  readonly networks: ReadonlyArray<{ asn: number; first_ms: number }>;
  /** When tokenwatch first saw the client. */
  readonly clientFirstSeen: number;
}

/** A first use judged: an alert, a rotation to record, or nothing to say. */
export type CredentialVerdict =
  | { readonly kind: 'alert'; readonly draft: AlertDraft }
  | { readonly kind: 'rotation'; readonly firstUse: number; readonly oldCredentials: readonly string[] }
  | { readonly kind: 'none' };

/**
 * new_credential: a key or secret the client never used is how an attacker who can edit the
 * application (Midnight Blizzard, January 2024) gets in without touching its owners' key
 * (OWASP NHI1 improper offboarding, NHI2 secret leakage). Alone it is a rotation; from a
 * network the client never used, or minting while the old credential still mints from other
 * networks, it is a second holder.
 *
 * Cost per tick: the window's requests that name a credential (credential-uses.sql) and the
 * client_credentials rows of their clients; only for credentials whose first use is within a
 * day, the client's networks (client_locations) and its credential_days rows around that day.
 */
export const newCredential: Detector = {
  name: 'new_credential',
  findings: [NEW_CREDENTIAL],
  enabled: (config) => allSettingsOf(config, 'new_credential').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config, logger } = context;
    const uses = (await readCredentialUses(clickhouse, window)).filter(
      (use) => settingsFor(config, 'new_credential', use.tenant, use.client_id).enabled,
    );
    if (uses.length === 0) return [];
    const credentials = await readClientCredentials(clickhouse, uses);
    const fresh = uses.flatMap((use) => {
      const life = lifeOf(credentials.get(clientKey(use.tenant, use.client_id)) ?? [], use);
      const firstUse = Math.min(life?.first_ms ?? use.first_ms, use.first_ms);
      return use.first_ms < firstUse + FIRST_USES_MS ? [{ use, firstUse }] : [];
    });
    if (fresh.length === 0) return [];

    const keys = { tenants: [...new Set(fresh.map(({ use }) => use.tenant))], clients: [...new Set(fresh.map(({ use }) => use.client_id))] };
    const longestParallel = Math.max(...allSettingsOf(config, 'new_credential').map((settings) => settings.parallel_window_minutes)) * MINUTE_MS;
    const earliest = Math.min(...fresh.map(({ firstUse }) => firstUse));
    const latest = Math.max(...fresh.map(({ firstUse }) => firstUse));
    const days = groupBy(
      await queryRows(clickhouse, CREDENTIAL_DAYS, {
        ...keys,
        from: isoDay(earliest - longestParallel),
        to: isoDay(latest + FIRST_USES_MS + longestParallel),
      }, dayRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const networks = groupBy(
      await queryRows(clickhouse, CLIENT_NETWORKS, { ...keys, to: isoDay(latest) }, networkRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const history = await readClientHistory(clickhouse, fresh.map(({ use }) => use));

    const allowlist = new Allowlist(config.allowlist);
    const drafts: AlertDraft[] = [];
    for (const { use, firstUse } of fresh) {
      const key = clientKey(use.tenant, use.client_id);
      const known = history.get(key);
      const verdict = judgeFirstUses(use, firstUse, {
        credentials: credentials.get(key) ?? [],
        days: days.get(key) ?? [],
        networks: networks.get(key) ?? [],
        clientFirstSeen: known?.firstSeen ?? firstUse,
      }, settingsFor(config, 'new_credential', use.tenant, use.client_id));
      if (verdict.kind === 'rotation') {
        // Recorded, not alerted: the log line once (the tick holding the first use), and
        // `tokenwatch credentials` shows the new credential beside the old ones for good.
        if (use.first_ms === firstUse) {
          logger.info(
            { tenant: use.tenant, client_id: use.client_id, credential: use.credential, credential_source: use.credential_source, first_use: iso(firstUse), old_credentials: verdict.oldCredentials },
            'credential rotation: a new credential minting from the client\'s usual networks',
          );
        }
        continue;
      }
      if (verdict.kind === 'none') continue;
      if (allowlist.match('new_credential', { ...use, asn: use.first_asn, country: use.first_country }, window.now)) continue;
      drafts.push({ ...verdict.draft, client_name: use.client_name || (known?.clientName ?? '') });
    }
    return drafts;
  },
};

function lifeOf(credentials: readonly CredentialLife[], use: { credential_source: string; credential: string }): CredentialLife | undefined {
  return credentials.find((row) => row.credential_source === use.credential_source && row.credential === use.credential);
}

/**
 * Judges a credential whose first use was at `firstUse` (the use is within its first day).
 * Rows at or after the first uses' end are ignored as history: a backtest's rollups hold the
 * future too.
 */
export function judgeFirstUses(use: CredentialUse, firstUse: number, context: CredentialContext, settings: NewCredentialConfig): CredentialVerdict {
  const isThis = (row: { credential_source: string; credential: string }) => row.credential_source === use.credential_source && row.credential === use.credential;
  const old = context.credentials.filter((row) => !isThis(row) && row.first_ms < firstUse);
  // The first credential a client is seen with is no news: the IdP may just have started logging it.
  if (old.length === 0) return { kind: 'none' };
  // A client still in its learning period gets its keys in whatever order its owners deploy them.
  if (firstUse - context.clientFirstSeen < settings.learning_days * DAY_MS) return { kind: 'none' };

  const firstUsesEnd = firstUse + FIRST_USES_MS;
  const firstUses = context.days.filter((row) => isThis(row) && row.first_ms < firstUsesEnd);
  const usualAsns = new Set([
    ...context.networks.filter((network) => network.first_ms < firstUse).map((network) => network.asn),
    ...old.flatMap((row) => row.asns),
  ]);
  const newAsnsOfFirstUses = [...new Set(firstUses.map((row) => row.asn))].filter((asn) => asn > 0 && !usualAsns.has(asn));
  // Fall back to the window's own row while the rollup has not shown the first uses yet.
  const firstUseAsns = firstUses.length > 0 ? newAsnsOfFirstUses : use.asns.filter((asn) => asn > 0 && !usualAsns.has(asn));
  const newNetwork = firstUseAsns.length > 0;

  // Parallel: an old credential minting within parallel_window of the new one's first uses,
  // and from none of the networks the new one used then. A rotation overlaps on the same hosts.
  const parallelMs = settings.parallel_window_minutes * MINUTE_MS;
  const newSpan = { first: firstUse, last: Math.max(firstUse, ...firstUses.map((row) => row.last_ms)) };
  const oldKeys = new Set(old.map((row) => credentialKey(row.credential_source, row.credential)));
  const parallelOld = context.days.filter(
    (row) =>
      oldKeys.has(credentialKey(row.credential_source, row.credential)) &&
      row.asn > 0 &&
      row.last_ms >= newSpan.first - parallelMs &&
      row.first_ms <= newSpan.last + parallelMs,
  );
  const newAsns = new Set([...firstUses.map((row) => row.asn), ...(firstUses.length > 0 ? [] : use.asns)].filter((asn) => asn > 0));
  const oldAsns = new Set(parallelOld.map((row) => row.asn));
  const parallel = parallelOld.length > 0 && newAsns.size > 0 && [...newAsns].every((asn) => !oldAsns.has(asn));

  if (!newNetwork && !parallel) return { kind: 'rotation', firstUse, oldCredentials: old.map((row) => row.credential) };

  const firstRow = [...firstUses].sort((a, b) => a.first_ms - b.first_ms)[0];
  const where = firstRow
    ? `${firstRow.ips[0] ?? 'an unknown address'} (AS${firstRow.asn}${firstRow.as_org ? ` ${firstRow.as_org}` : ''}${firstRow.country ? `, ${firstRow.country}` : ''})`
    : `${use.ips[0] ?? 'an unknown address'} (AS${use.first_asn}${use.first_as_org ? ` ${use.first_as_org}` : ''}${use.first_country ? `, ${use.first_country}` : ''})`;
  const why = [
    ...(newNetwork ? ['from a network the client never used'] : []),
    ...(parallel ? [`while credential ${parallelOld[0]?.credential ?? ''} still minted from ${[...oldAsns].map((asn) => `AS${asn}`).join(', ')}`] : []),
  ];
  const oldByUse = [...old].sort((a, b) => b.last_ms - a.last_ms);
  const usedWith = firstUses.reduce((sum, row) => sum + row.requests, 0);
  return {
    kind: 'alert',
    draft: NEW_CREDENTIAL.draft({
      severity: 'high',
      tenant: use.tenant,
      client_id: use.client_id,
      client_name: use.client_name,
      // The credential: every tick and backtest over its first day finds the same alert.
      alert_key: `credential:${credentialKey(use.credential_source, use.credential)}`,
      window_start: firstUse,
      first_seen: firstUse,
      last_seen: Math.max(use.last_ms, newSpan.last),
      event_count: Math.max(use.requests, usedWith),
      summary:
        `client ${use.client_id} minted tokens with credential ${use.credential}, never used before, from ${where} ${why.join(' and ')}` +
        `; it used ${oldByUse.slice(0, 3).map((row) => row.credential).join(', ')} before.`,
      evidence: {
        credential_id: use.credential,
        credential_source: use.credential_source,
        auth_method: use.auth_method,
        first_use: iso(firstUse),
        new_network: newNetwork,
        parallel_use: parallel,
        first_uses: [...firstUses].sort((a, b) => a.first_ms - b.first_ms).slice(0, 10).map((row) => ({
          asn: row.asn, as_org: row.as_org, country: row.country, source_ips: row.ips,
          first_seen: iso(row.first_ms), last_seen: iso(row.last_ms), requests: row.requests,
        })),
        parallel_old_uses: parallelOld.slice(0, 10).map((row) => ({
          credential_id: row.credential, asn: row.asn, as_org: row.as_org, country: row.country,
          first_seen: iso(row.first_ms), last_seen: iso(row.last_ms), requests: row.requests,
        })),
        old_credentials: oldByUse.slice(0, 10).map((row) => ({
          credential_id: row.credential, first_seen: iso(row.first_ms), last_seen: iso(row.last_ms), requests: row.requests,
          networks: row.asns.filter((asn) => asn > 0),
        })),
        usual_networks: [...usualAsns].filter((asn) => asn > 0).sort((a, b) => a - b).slice(0, 32),
      },
      event_ids: use.event_ids,
    }),
  };
}
