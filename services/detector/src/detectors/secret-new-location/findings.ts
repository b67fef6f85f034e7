import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A shared secret used from a country, ASN or network the client (or credential) has not used in the lookback. */
export const SECRET_NEW_LOCATION = defineFinding(
  'secret_new_location',
  evidenceSchema({
    level: evidence.text('New at level'),
    new_location: evidence.group('New location', {
      value: evidence.text('Location'),
      country: evidence.text('Country'),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      network: evidence.network('Network'),
      hosting_provider: evidence.text('Hosting'),
      source_ips: evidence.list('Source IPs', evidence.ip('IP')),
      first_seen: evidence.time('First seen'),
    }),
    auth_method: evidence.text('Authentication method'),
    credential_id: evidence.id('Credential'),
    known_locations: evidence.list(
      'Known locations',
      evidenceSchema({
        value: evidence.text('Location'),
        as_org: evidence.text('Network operator'),
        first_seen: evidence.time('First seen'),
        last_seen: evidence.time('Last seen'),
        requests: evidence.count('Requests'),
      }),
    ),
  }),
);
