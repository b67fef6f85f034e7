import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';
import { networkUse } from '../network-evidence.js';

/** A client silent for longer than dormant_days and than any gap in its history got a token. */
export const DORMANT_CLIENT = defineFinding(
  'dormant_client',
  evidenceSchema({
    last_seen_before: evidence.time('Last token before the sleep'),
    slept_days: evidence.number('Slept (days)'),
    longest_gap_days: evidence.number('Longest gap before (days)'),
    client_first_seen: evidence.time('Client first seen'),
    woke: evidence.group('Woke up', {
      first_request: evidence.time('First request'),
      source_ips: evidence.list('Source IPs', evidence.ip('IP')),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      country: evidence.text('Country'),
      credential_ids: evidence.list('Credentials', evidence.id('Credential')),
      auth_method: evidence.text('Authentication method'),
      user_agent: evidence.text('User agent'),
      new_network: evidence.flag('Network never used by the client'),
      new_credential: evidence.flag('Credential never used by the client'),
    }),
    usual_networks: evidence.list(
      'Networks before the sleep',
      evidenceSchema(networkUse),
    ),
    usual_credentials: evidence.list(
      'Credentials before the sleep',
      evidenceSchema({
        credential_id: evidence.id('Credential'),
        first_seen: evidence.time('First seen'),
        last_seen: evidence.time('Last seen'),
        requests: evidence.count('Requests'),
      }),
    ),
  }),
);
