import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** One request that presented the assertion. */
const use = evidenceSchema({
  time: evidence.time('Time'),
  client_id: evidence.id('Client'),
  outcome: evidence.text('Outcome'),
  error_code: evidence.text('Error'),
  source_ip: evidence.ip('Source IP'),
  asn: evidence.asn('ASN'),
  as_org: evidence.text('Network operator'),
  country: evidence.text('Country'),
  replay_reported: evidence.flag('Replay reported by the IdP'),
  event_id: evidence.id('Event'),
});

/** One client assertion (tenant, client, jti) used more than once within its validity, or a replay the IdP reported. */
export const JTI_REPLAY = defineFinding(
  'jti_replay',
  evidenceSchema({
    jti: evidence.jti('jti'),
    replayed_uses: evidence.count('Replays within validity'),
    accepted_replays: evidence.count('Replays accepted'),
    replay_reported_by_idp: evidence.flag('Replay reported by the IdP'),
    assertion_exp: evidence.time('Assertion expires').nullable(),
    distinct_asns: evidence.list('Networks (ASNs)', evidence.asn('ASN')),
    uses: evidence.list('Uses', use),
  }),
);

/** One jti presented by two or more clients of a tenant. */
export const JTI_CROSS_CLIENT = defineFinding(
  'jti_cross_client',
  evidenceSchema({
    jti: evidence.jti('jti'),
    clients: evidence.list('Clients', evidence.id('Client')),
    uses: evidence.list('Uses', use),
  }),
  { scope: 'tenant' },
);

/** Assertions of one client on one UTC day that break a hygiene rule (low severity: policy, not compromise). */
export const ASSERTION_HYGIENE = defineFinding(
  'assertion_hygiene',
  evidenceSchema({
    issue: evidence.text('Issue'),
    requests: evidence.count('Requests'),
    limit: evidence.number('Limit (minutes or seconds, per issue)'),
    max_lifetime_seconds: evidence.number('Longest lifetime (s)').nullable(),
    max_iat_offset_seconds: evidence.number('Largest iat offset (s)').nullable(),
  }),
);
