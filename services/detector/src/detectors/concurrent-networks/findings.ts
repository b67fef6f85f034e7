import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

const network = {
  asn: evidence.asn('ASN'),
  as_org: evidence.text('Network operator'),
  country: evidence.text('Country'),
  first_seen: evidence.time('First seen'),
  last_seen: evidence.time('Last seen'),
  requests: evidence.count('Requests'),
};

/** One client or credential minted from more ASNs inside one window than its history ever did. */
export const CONCURRENT_NETWORKS = defineFinding(
  'concurrent_networks',
  evidenceSchema({
    scope: evidence.text('Judged per'),
    credential_id: evidence.id('Credential'),
    window_minutes: evidence.number('Window (minutes)'),
    networks_in_window: evidence.count('Distinct ASNs in one window'),
    usual_max_networks: evidence.count('Most ASNs in one window before'),
    burst_networks: evidence.list(
      'Networks in the burst',
      evidenceSchema({
        ...network,
        source_ips: evidence.list('Source IPs', evidence.ip('IP')),
        credential_ids: evidence.list('Credentials', evidence.id('Credential')),
        new_network: evidence.flag('Network never used before'),
      }),
    ),
    usual_networks: evidence.list('Networks before the burst', evidenceSchema(network)),
  }),
);
