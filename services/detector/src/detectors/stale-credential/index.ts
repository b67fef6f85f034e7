import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS } from '@tokenwatch/shared/time';
import { Allowlist } from '../../allowlist.js';
import { clientKey, readClientHistory } from '../../clients.js';
import { allSettingsOf, settingsFor } from '../../config.js';
import { credentialKey, readClientCredentials, readCredentialUses } from '../../credentials.js';
import type { Detector } from '../../detector.js';
import { STALE_CREDENTIAL } from './findings.js';

const iso = (ms: number) => new Date(ms).toISOString();
const days = (ms: number) => Math.round((ms / DAY_MS) * 10) / 10;

/**
 * stale_credential: a credential still minting tokens max_credential_age_days after its first
 * use was never rotated (OWASP NHI7, long-lived secrets). Low: hygiene, not an attack, and one
 * alert per credential for its whole life (alert_key names the credential), updated while it
 * keeps minting, so a fleet of old keys is a list to work through, not a stream of pages.
 *
 * Cost per tick: the window's requests that name a credential (credential-uses.sql) and the
 * client_credentials rows of their clients, whose first use outlives any retention.
 */
export const staleCredential: Detector = {
  name: 'stale_credential',
  findings: [STALE_CREDENTIAL],
  enabled: (config) => allSettingsOf(config, 'stale_credential').some((settings) => settings.enabled),
  async detect(context, window) {
    const { clickhouse, config } = context;
    const uses = (await readCredentialUses(clickhouse, window)).filter(
      (use) => settingsFor(config, 'stale_credential', use.tenant, use.client_id).enabled,
    );
    if (uses.length === 0) return [];
    const credentials = await readClientCredentials(clickhouse, uses);
    const history = await readClientHistory(clickhouse, uses);
    const allowlist = new Allowlist(config.allowlist);
    const drafts: AlertDraft[] = [];
    for (const use of uses) {
      const { max_credential_age_days } = settingsFor(config, 'stale_credential', use.tenant, use.client_id);
      const life = credentials
        .get(clientKey(use.tenant, use.client_id))
        ?.find((row) => row.credential_source === use.credential_source && row.credential === use.credential);
      const firstUse = Math.min(life?.first_ms ?? use.first_ms, use.first_ms);
      const staleFrom = firstUse + max_credential_age_days * DAY_MS;
      if (use.last_ms < staleFrom) continue;
      if (allowlist.match('stale_credential', { ...use, asn: use.first_asn, country: use.first_country }, window.now)) continue;
      const lastUse = Math.max(life?.last_ms ?? use.last_ms, use.last_ms);
      drafts.push(
        STALE_CREDENTIAL.draft({
          severity: 'low',
          tenant: use.tenant,
          client_id: use.client_id,
          client_name: use.client_name || (history.get(clientKey(use.tenant, use.client_id))?.clientName ?? ''),
          // The credential itself: one alert per credential, whichever tick or backtest finds it.
          alert_key: `credential:${credentialKey(use.credential_source, use.credential)}`,
          window_start: staleFrom,
          first_seen: Math.max(use.first_ms, staleFrom),
          last_seen: use.last_ms,
          event_count: use.requests,
          summary:
            `credential ${use.credential} of client ${use.client_id} still mints tokens ${Math.floor(days(use.last_ms - firstUse))} days ` +
            `after its first use on ${iso(firstUse).slice(0, 10)} (rotate within ${max_credential_age_days} days).`,
          evidence: {
            credential_id: use.credential,
            credential_source: use.credential_source,
            auth_method: life?.auth_method || use.auth_method,
            first_use: iso(firstUse),
            last_use: iso(lastUse),
            age_days: days(use.last_ms - firstUse),
            max_credential_age_days,
            requests: life?.requests ?? use.requests,
            networks: (life?.asns ?? use.asns).filter((asn) => asn > 0).slice(0, 32),
            countries: (life?.countries ?? []).slice(0, 16),
          },
          event_ids: use.event_ids,
        }),
      );
    }
    return drafts;
  },
};
