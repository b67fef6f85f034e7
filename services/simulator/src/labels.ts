/** The attacks the simulator injects, and the label each one gets. */

export const ATTACK_KINDS = [
  'replay_accepted',
  'replay_rejected',
  'secret_new_country',
  'secret_new_asn',
  'mint_burst',
  'invalid_client_burst',
  'dormant_client',
  'new_scope',
  'new_user_agent',
  'concurrent_networks',
  'new_credential',
] as const;

export type AttackKind = (typeof ATTACK_KINDS)[number];

/** The finding whose alert must find each kind (the alert's `finding`). */
export const ATTACK_FINDINGS: Readonly<Record<AttackKind, string>> = {
  replay_accepted: 'jti_replay',
  replay_rejected: 'jti_replay',
  secret_new_country: 'secret_new_location',
  secret_new_asn: 'secret_new_location',
  mint_burst: 'mint_volume',
  invalid_client_burst: 'invalid_client_burst',
  dormant_client: 'dormant_client',
  new_scope: 'new_scope',
  new_user_agent: 'new_user_agent',
  concurrent_networks: 'concurrent_networks',
  new_credential: 'new_credential',
};

/**
 * One injected attack. `start`/`end` are planned when the label is made and narrowed to the
 * first and last attack event as they are generated; `event_ids` fills in as the events leave
 * the generator (ids are numbered in output order), so a label is complete once the events
 * have been iterated past its `end`. For replays, `event_ids` starts with the original, benign
 * use of the assertion, followed by the replays.
 */
export interface AttackLabel {
  readonly id: string;
  readonly kind: AttackKind;
  readonly finding: string;
  readonly tenant: string;
  readonly client_id: string;
  start: number;
  end: number;
  readonly event_ids: string[];
}
