import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { ASSERTION_HYGIENE, JTI_CROSS_CLIENT, JTI_REPLAY } from '@tokenwatch/detector/detectors/jti-replay/findings';
import { INVALID_CLIENT_BURST, MINT_VOLUME } from '@tokenwatch/detector/detectors/mint-volume/findings';
import { SECRET_NEW_LOCATION } from '@tokenwatch/detector/detectors/secret-new-location/findings';
import { UNKNOWN_CLIENT } from '@tokenwatch/detector/detectors/unknown-client/findings';
import { DORMANT_CLIENT } from '@tokenwatch/detector/detectors/dormant-client/findings';
import { NEW_SCOPE } from '@tokenwatch/detector/detectors/new-scope/findings';
import { NEW_USER_AGENT } from '@tokenwatch/detector/detectors/new-user-agent/findings';
import { WATCHED_CREDENTIAL } from '@tokenwatch/detector/detectors/watched-credential/findings';
import { CONCURRENT_NETWORKS } from '@tokenwatch/detector/detectors/concurrent-networks/findings';
import { IOC_MATCH } from '@tokenwatch/detector/sweep/findings';
import { NEW_CREDENTIAL } from '@tokenwatch/detector/detectors/new-credential/findings';
import { STALE_CREDENTIAL } from '@tokenwatch/detector/detectors/stale-credential/findings';

type EvidenceOf<F extends { draft: (fields: never) => unknown }> = Parameters<F['draft']>[0] extends { evidence: infer E } ? E : never;

const use = (jti: string, i: number, client_id: string) => ({
  time: `2026-03-01T10:0${i}:00.000Z`,
  client_id,
  outcome: i === 0 ? 'success' : 'failure',
  error_code: i === 0 ? '' : 'invalid_grant',
  source_ip: `203.0.113.${10 + i}`,
  asn: 64500 + i,
  as_org: `Example Net ${i}`,
  country: 'NL',
  replay_reported: false,
  event_id: `e-${jti}-${i}`,
});

const burst = (observed: number, median: number): EvidenceOf<typeof MINT_VOLUME> => ({
  observed,
  baseline_median: median,
  baseline_mad: 4.5,
  baseline_kind: 'trailing',
  baseline_samples: 2016,
  threshold: median * 5,
  score: Math.round(((observed - median) / 4.5) * 100) / 100,
  bucket_start: '2026-03-01T10:00:00.000Z',
  bucket_minutes: 5,
  source_ips: [{ ip: '203.0.113.9', asn: 64500, as_org: 'Example', country: 'NL', hosting_provider: '', requests: observed }],
  distinct_asns: [64500],
});

/**
 * Evidence that each finding's schema accepts, typed by the schema (a renamed key fails to
 * compile here too): for tests that store or render alerts without running a detector.
 */
export const sampleEvidence = {
  jti_replay: (jti = 'jti-1'): EvidenceOf<typeof JTI_REPLAY> => ({
    jti,
    replayed_uses: 1,
    accepted_replays: 0,
    replay_reported_by_idp: false,
    assertion_exp: '2026-03-01T10:05:00.000Z',
    distinct_asns: [64500, 64501],
    uses: [use(jti, 0, 'svc-a'), use(jti, 1, 'svc-a')],
  }),
  jti_cross_client: (jti = 'jti-1'): EvidenceOf<typeof JTI_CROSS_CLIENT> => ({
    jti,
    clients: ['svc-a', 'svc-b'],
    uses: [use(jti, 0, 'svc-a'), use(jti, 1, 'svc-b')],
  }),
  assertion_hygiene: (): EvidenceOf<typeof ASSERTION_HYGIENE> => ({
    issue: 'long_lifetime',
    requests: 12,
    limit: 60,
    max_lifetime_seconds: 86_400,
    max_iat_offset_seconds: null,
  }),
  mint_volume: (observed = 4_200, median = 120) => burst(observed, median),
  invalid_client_burst: (observed = 300, median = 2): EvidenceOf<typeof INVALID_CLIENT_BURST> => burst(observed, median),
  secret_new_location: (): EvidenceOf<typeof SECRET_NEW_LOCATION> => ({
    level: 'country',
    new_location: {
      value: 'RU',
      country: 'RU',
      asn: 64510,
      as_org: 'Far Away Hosting',
      network: '198.51.100.0/24',
      hosting_provider: 'Far Away Hosting',
      source_ips: ['198.51.100.7'],
      first_seen: '2026-03-01T10:00:00.000Z',
    },
    auth_method: 'client_secret_basic',
    credential_id: '',
    known_locations: [{ value: 'NL', as_org: 'Example', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-02-28T23:00:00.000Z', requests: 5_000 }],
  }),
  unknown_client: (): EvidenceOf<typeof UNKNOWN_CLIENT> => ({
    first_request: '2026-03-01T10:00:00.000Z',
    requests: 12,
    auth_methods: ['client_secret_basic'],
    credential_ids: ['secret-1'],
    source_ips: ['203.0.113.50'],
    inventory_clients: 40,
  }),
  dormant_client: (): EvidenceOf<typeof DORMANT_CLIENT> => ({
    last_seen_before: '2026-01-20T03:00:00.000Z',
    slept_days: 40.3,
    longest_gap_days: 2.1,
    client_first_seen: '2025-06-02T08:00:00.000Z',
    woke: {
      first_request: '2026-03-01T10:00:00.000Z',
      source_ips: ['198.51.100.7'],
      asn: 64510,
      as_org: 'Far Away Hosting',
      country: 'NL',
      credential_ids: ['key-9'],
      auth_method: 'client_secret',
      user_agent: 'python-requests/2.31.0',
      new_network: true,
      new_credential: true,
    },
    usual_networks: [{ asn: 16509, as_org: 'AMAZON-02', country: 'US', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-01-20T03:00:00.000Z', requests: 12_000 }],
    usual_credentials: [{ credential_id: 'key-1', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-01-20T03:00:00.000Z', requests: 12_000 }],
  }),
  new_credential: (): EvidenceOf<typeof NEW_CREDENTIAL> => ({
    credential_id: 'key-evil',
    credential_source: 'credential_id',
    auth_method: 'private_key_jwt',
    first_use: '2026-03-01T10:00:00.000Z',
    new_network: true,
    parallel_use: true,
    first_uses: [{ asn: 64510, as_org: 'Far Away Hosting', country: 'NL', source_ips: ['198.51.100.7'], first_seen: '2026-03-01T10:00:00.000Z', last_seen: '2026-03-01T10:20:00.000Z', requests: 9 }],
    parallel_old_uses: [{ credential_id: 'key-1', asn: 16509, as_org: 'AMAZON-02', country: 'US', first_seen: '2026-03-01T00:00:05.000Z', last_seen: '2026-03-01T10:15:00.000Z', requests: 410 }],
    old_credentials: [{ credential_id: 'key-1', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-03-01T10:15:00.000Z', requests: 12_000, networks: [16509] }],
    usual_networks: [16509],
  }),
  stale_credential: (): EvidenceOf<typeof STALE_CREDENTIAL> => ({
    credential_id: 'key-1',
    credential_source: 'credential_id',
    auth_method: 'client_secret',
    first_use: '2025-06-02T08:00:00.000Z',
    last_use: '2026-03-01T10:00:00.000Z',
    age_days: 272.1,
    max_credential_age_days: 90,
    requests: 12_000,
    networks: [16509],
    countries: ['US'],
  }),
  watched_credential: (): EvidenceOf<typeof WATCHED_CREDENTIAL> => ({
    watch: {
      watch_id: 'w-0123456789ab',
      credential_id: '',
      reason: 'secret printed in a CI log (INC-7)',
      added_by: 'alice@ops-1',
      added_at: '2026-02-28T09:00:00.000Z',
      since: '2026-02-28T09:00:00.000Z',
      until: null,
    },
    day: '2026-03-01',
    requests: 3,
    successes: 1,
    failures: 2,
    credentials: ['key-1'],
    source_ips: ['198.51.100.7'],
    countries: ['NL'],
    user_agents: ['curl/8.4.0'],
    error_codes: ['invalid_client'],
  }),
  new_scope: (): EvidenceOf<typeof NEW_SCOPE> => ({
    new_scopes: [{ kind: 'scope', value: 'okta.users.manage', sensitive: 'okta.*.manage' }],
    granted_scopes: ['okta.users.manage', 'okta.users.read'],
    audience: '',
    client_first_seen: '2025-06-02T08:00:00.000Z',
    request: {
      first_request: '2026-03-01T10:00:00.000Z',
      source_ips: ['198.51.100.7'],
      asn: 64510,
      as_org: 'Far Away Hosting',
      country: 'NL',
      user_agent: 'python-requests/2.31.0',
      auth_method: 'client_secret_basic',
      credential_id: '',
    },
    usual_scopes: [{ kind: 'scope', value: 'okta.users.read', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-03-01T09:55:00.000Z', requests: 12_000 }],
  }),
  new_user_agent: (): EvidenceOf<typeof NEW_USER_AGENT> => ({
    new_family: 'python-requests',
    user_agent: 'python-requests/2.31.0',
    client_first_seen: '2025-06-02T08:00:00.000Z',
    request: {
      first_request: '2026-03-01T10:00:00.000Z',
      source_ips: ['198.51.100.7'],
      asn: 64510,
      as_org: 'Far Away Hosting',
      country: 'NL',
      new_network: true,
      failures_before: 3,
    },
    usual_families: [{ family: 'okhttp', example: 'okhttp/4.12.0', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-03-01T09:55:00.000Z', requests: 12_000 }],
    usual_networks: [{ asn: 16509, as_org: 'AMAZON-02', country: 'US', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-03-01T09:55:00.000Z', requests: 12_000 }],
  }),
  concurrent_networks: (): EvidenceOf<typeof CONCURRENT_NETWORKS> => ({
    scope: 'client',
    credential_id: '',
    window_minutes: 10,
    networks_in_window: 4,
    usual_max_networks: 1,
    burst_networks: [
      { asn: 16509, as_org: 'AMAZON-02', country: 'US', first_seen: '2026-03-01T10:00:00.000Z', last_seen: '2026-03-01T10:09:00.000Z', requests: 4, source_ips: ['3.208.10.4'], credential_ids: ['secret-1'], new_network: false },
      { asn: 64510, as_org: 'Far Away Hosting', country: 'NL', first_seen: '2026-03-01T10:02:00.000Z', last_seen: '2026-03-01T10:02:00.000Z', requests: 1, source_ips: ['198.51.100.7'], credential_ids: ['secret-1'], new_network: true },
    ],
    usual_networks: [{ asn: 16509, as_org: 'AMAZON-02', country: 'US', first_seen: '2025-06-02T08:00:00.000Z', last_seen: '2026-03-01T10:09:00.000Z', requests: 12_000 }],
  }),
  ioc_match: (): EvidenceOf<typeof IOC_MATCH> => ({
    swept_from: '2026-02-01T00:00:00.000Z',
    swept_to: '2026-03-01T00:00:00.000Z',
    indicators_swept: 120,
    matches: [{ indicator: '198.51.100.0/24', first_seen: '2026-02-20T10:00:00.000Z', last_seen: '2026-02-21T10:00:00.000Z', requests: 40, successes: 38 }],
  }),
} as const;

export type SampleFinding = keyof typeof sampleEvidence;

/**
 * A draft of alert `i` of client `svc-<i>` with its finding's sample evidence: a jti_replay
 * unless `overrides.finding` names another sample finding. Overrides win over every field.
 */
export function sampleDraft(i: number, overrides: Partial<AlertDraft> = {}): AlertDraft {
  const now = Date.now();
  const finding = (overrides.finding ?? 'jti_replay') as SampleFinding;
  return {
    finding,
    severity: 'high',
    tenant: 'acme',
    client_id: `svc-${i}`,
    client_name: `Service ${i}`,
    alert_key: `jti-${i}`,
    window_start: 0,
    first_seen: now - 120_000,
    last_seen: now - 60_000,
    event_count: 2,
    summary: `The assertion jti-${i} was used twice.`,
    evidence: finding === 'jti_replay' ? sampleEvidence.jti_replay(`jti-${i}`) : sampleEvidence[finding](),
    event_ids: [`e-${i}`],
    ...overrides,
  };
}
