import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';
import { networkUse } from '../network-evidence.js';

/** A client got a token with software (a user-agent family, versions ignored) it never ran before. */
export const NEW_USER_AGENT = defineFinding(
  'new_user_agent',
  evidenceSchema({
    new_family: evidence.text('New software (user-agent family)'),
    user_agent: evidence.text('User agent'),
    client_first_seen: evidence.time('Client first seen'),
    request: evidence.group('The requests', {
      first_request: evidence.time('First request'),
      source_ips: evidence.list('Source IPs', evidence.ip('IP')),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      country: evidence.text('Country'),
      new_network: evidence.flag('Network never used by the client'),
      failures_before: evidence.count('Failed requests of the client in the hour before'),
    }),
    usual_families: evidence.list(
      'Software the client ran before',
      evidenceSchema({
        family: evidence.text('Family'),
        example: evidence.text('User agent'),
        first_seen: evidence.time('First seen'),
        last_seen: evidence.time('Last seen'),
        requests: evidence.count('Requests'),
      }),
    ),
    usual_networks: evidence.list(
      'Networks the client used before',
      evidenceSchema(networkUse),
    ),
  }),
);
