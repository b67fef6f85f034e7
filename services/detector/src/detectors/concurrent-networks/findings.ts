import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';
import { networkUse } from '../network-evidence.js';


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
        ...networkUse,
        source_ips: evidence.list('Source IPs', evidence.ip('IP')),
        credential_ids: evidence.list('Credentials', evidence.id('Credential')),
        new_network: evidence.flag('Network never used before'),
      }),
    ),
    usual_networks: evidence.list('Networks before the burst', evidenceSchema(networkUse)),
  }),
);
