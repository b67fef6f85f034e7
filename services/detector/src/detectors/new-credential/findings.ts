import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

const network = evidenceSchema({
  asn: evidence.asn('ASN'),
  as_org: evidence.text('Network operator'),
  country: evidence.text('Country'),
  source_ips: evidence.list('Source IPs', evidence.ip('IP')),
  first_seen: evidence.time('First seen'),
  last_seen: evidence.time('Last seen'),
  requests: evidence.count('Requests'),
});

/**
 * A credential the client never used minted its first tokens from a network the client never
 * used, or in parallel with an old credential that minted from other networks at the same time.
 */
export const NEW_CREDENTIAL = defineFinding(
  'new_credential',
  evidenceSchema({
    credential_id: evidence.id('New credential'),
    credential_source: evidence.text('Named by'),
    auth_method: evidence.text('Authentication method'),
    first_use: evidence.time('First use'),
    new_network: evidence.flag('First used from a network the client never used'),
    parallel_use: evidence.flag('Used in parallel with an old credential from other networks'),
    first_uses: evidence.list('First uses of the new credential', network),
    parallel_old_uses: evidence.list('Old credentials minting at the same time', evidenceSchema({
      credential_id: evidence.id('Credential'),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      country: evidence.text('Country'),
      first_seen: evidence.time('First seen'),
      last_seen: evidence.time('Last seen'),
      requests: evidence.count('Requests'),
    })),
    old_credentials: evidence.list('Credentials the client used before', evidenceSchema({
      credential_id: evidence.id('Credential'),
      first_seen: evidence.time('First use'),
      last_seen: evidence.time('Last use'),
      requests: evidence.count('Requests'),
      networks: evidence.list('Networks', evidence.asn('ASN')),
    })),
    usual_networks: evidence.list('Networks the client used before', evidence.asn('ASN')),
  }),
);
