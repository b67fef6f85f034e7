import { createHash } from 'node:crypto';
import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory, requestSpanColumns } from '../../clients.js';
import { allSettingsOf, settingsFor, type NewScopeConfig } from '../../config.js';
import { windowParams, type Detector } from '../../detector.js';
import { groupBy } from '../../group-by.js';
import { NEW_SCOPE } from './findings.js';
import { SensitiveScopes } from './sensitive-scopes.js';

const WINDOW_GRANTS = sql(import.meta.url, './window-grants.sql');
const KNOWN_SCOPES = sql(import.meta.url, './known-scopes.sql');

/** A user agent is free text of up to 1 KiB; the evidence shows its start. */
const USER_AGENT_SHOWN = 300;
/** Evidence texts are at most 1,000 characters; an audience may have 1,024. */
const TEXT_SHOWN = 1_000;
/** An alert_key longer than this (hundreds of new scopes at once) is replaced by its hash. */
const KEY_MAX = 200;

const grantRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  scope_set: z.array(z.string()),
  audience: z.string(),
  ...requestSpanColumns,
  first_asn: z.coerce.number(),
  first_as_org: z.string(),
  first_country: z.string(),
  first_user_agent: z.string(),
  first_auth_method: z.string(),
  first_credential_id: z.string(),
  ips: z.array(z.string()),
  event_ids: z.array(z.string()),
});
export type Grant = z.output<typeof grantRow>;

const knownRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  kind: z.enum(['scope', 'audience']),
  value: z.string(),
  ...requestSpanColumns,
});
export type KnownScope = z.output<typeof knownRow>;

type Kind = KnownScope['kind'];
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * new_scope: a successful grant carrying a scope or an audience the client was never granted
 * before, once the client has learning_days of history. A stolen credential is used for what
 * the attacker wants (an export, an admin API), not what the client does every day (OWASP
 * NHI5, overprivileged NHI: the grant shows a privilege the client holds but never used).
 * High when a new value matches sensitive_scopes.
 *
 * Judged per requested shape (distinct scopes and audience): the values of a shape that no
 * earlier grant carried are its news; a client whose scopes vary inside the set it has used has
 * none. One alert per client and set of new values (alert_key), at the shape's first request:
 * the next window sees those values as known, a re-run finds the same alert.
 *
 * Cost per tick: the window's successful grants (window-grants.sql) and the client_traits
 * rollup rows of the clients in it (known-scopes.sql), never the request history.
 */
export const newScope: Detector = {
  name: 'new_scope',
  findings: [NEW_SCOPE],
  enabled: (config) => allSettingsOf(config, 'new_scope').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config } = context;
    const grants = (await queryRows(clickhouse, WINDOW_GRANTS, windowParams(window), grantRow)).filter(
      (grant) => settingsFor(config, 'new_scope', grant.tenant, grant.client_id).enabled,
    );
    if (grants.length === 0) return [];
    const known = groupBy(
      await queryRows(clickhouse, KNOWN_SCOPES, {
        tenants: [...new Set(grants.map((grant) => grant.tenant))],
        clients: [...new Set(grants.map((grant) => grant.client_id))],
      }, knownRow),
      (row) => clientKey(row.tenant, row.client_id),
    );
    const history = await readClientHistory(clickhouse, grants);
    const allowlist = new Allowlist(config.allowlist);
    const matchers = new Map<NewScopeConfig, SensitiveScopes>();
    const drafts: AlertDraft[] = [];
    for (const grant of grants.sort((a, b) => a.first_ms - b.first_ms)) {
      const key = clientKey(grant.tenant, grant.client_id);
      const settings = settingsFor(config, 'new_scope', grant.tenant, grant.client_id);
      const firstSeen = history.get(key)?.firstSeen ?? grant.first_ms;
      if (grant.first_ms - firstSeen < settings.learning_days * DAY_MS) continue;
      if (allowlist.match('new_scope', { ...grant, asn: grant.first_asn, country: grant.first_country }, window.now)) continue;
      let sensitive = matchers.get(settings);
      if (!sensitive) matchers.set(settings, (sensitive = new SensitiveScopes(settings.sensitive_scopes)));
      const draft = judgeGrant(grant, known.get(key) ?? [], sensitive, firstSeen);
      if (draft) drafts.push({ ...draft, client_name: grant.client_name || (history.get(key)?.clientName ?? '') });
    }
    return drafts;
  },
};

/**
 * The values of `grant` that no earlier grant of the client carried. A kind (scope or
 * audience) the client never had any value of before is not judged: a source that starts
 * logging scopes, or a client that starts asking for them, would otherwise make every first
 * value news.
 */
export function newValuesOf(grant: Grant, known: readonly KnownScope[]): Array<{ kind: Kind; value: string }> {
  const before = known.filter((row) => row.first_ms < grant.first_ms);
  const values: Array<{ kind: Kind; value: string }> = [
    ...grant.scope_set.map((value) => ({ kind: 'scope' as const, value })),
    ...(grant.audience ? [{ kind: 'audience' as const, value: grant.audience }] : []),
  ];
  return values.filter(
    ({ kind, value }) => before.some((row) => row.kind === kind) && !before.some((row) => row.kind === kind && row.value === value),
  );
}

export function judgeGrant(grant: Grant, known: readonly KnownScope[], sensitive: SensitiveScopes, clientFirstSeen: number): AlertDraft | undefined {
  const news = newValuesOf(grant, known).map((item) => ({ ...item, sensitive: sensitive.match(item.value) ?? '' }));
  if (news.length === 0) return undefined;
  const usual = known
    .filter((row) => row.first_ms < grant.first_ms)
    .sort((a, b) => b.requests - a.requests || a.kind.localeCompare(b.kind) || a.value.localeCompare(b.value));
  const names = news.map((item) => `${item.kind === 'audience' ? 'audience ' : ''}${item.value}`);
  const flagged = news.filter((item) => item.sensitive);
  const keyText = news.map((item) => `${item.kind}:${item.value}`).sort().join(' ');
  const where = `${grant.ips[0] ?? 'an unknown address'} (${grant.first_asn > 0 ? `AS${grant.first_asn}${grant.first_as_org ? ` ${grant.first_as_org}` : ''}` : 'unknown network'}${grant.first_country ? `, ${grant.first_country}` : ''})`;
  const usualText = usual.slice(0, 5).map((row) => row.value).join(', ');

  return NEW_SCOPE.draft({
    severity: flagged.length > 0 ? 'high' : 'medium',
    tenant: grant.tenant,
    client_id: grant.client_id,
    client_name: grant.client_name,
    alert_key: `new:${keyText.length <= KEY_MAX ? keyText : `sha256:${createHash('sha256').update(keyText).digest('hex')}`}`,
    window_start: grant.first_ms,
    first_seen: grant.first_ms,
    last_seen: grant.last_ms,
    event_count: grant.requests,
    summary:
      `client ${grant.client_id} was granted ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}, ` +
      `never granted to it before, from ${where}` +
      `${flagged.length > 0 ? `; sensitive: ${flagged.slice(0, 3).map((item) => `${item.value} (matches ${item.sensitive})`).join(', ')}` : ''}` +
      `${usualText ? `; it is usually granted ${usualText}` : ''}.`,
    evidence: {
      new_scopes: news.slice(0, 100).map((item) => ({ ...item, value: item.value.slice(0, TEXT_SHOWN) })),
      granted_scopes: grant.scope_set.slice(0, 100),
      audience: grant.audience.slice(0, TEXT_SHOWN),
      client_first_seen: iso(clientFirstSeen),
      request: {
        first_request: iso(grant.first_ms),
        source_ips: grant.ips,
        asn: grant.first_asn,
        as_org: grant.first_as_org,
        country: grant.first_country,
        user_agent: grant.first_user_agent.slice(0, USER_AGENT_SHOWN),
        auth_method: grant.first_auth_method,
        credential_id: grant.first_credential_id,
      },
      usual_scopes: usual.slice(0, 20).map((row) => ({
        kind: row.kind,
        value: row.value.slice(0, TEXT_SHOWN),
        first_seen: iso(row.first_ms),
        last_seen: iso(Math.min(row.last_ms, grant.first_ms)),
        requests: row.requests,
      })),
    },
    event_ids: grant.event_ids,
  });
}
