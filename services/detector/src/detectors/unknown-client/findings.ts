import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A client that minted tokens but has no entry in an inventory that says it lists every client: a shadow machine identity. */
export const UNKNOWN_CLIENT = defineFinding(
  'unknown_client',
  evidenceSchema({
    first_request: evidence.time('First token minted'),
    requests: evidence.count('Tokens minted (first window)'),
    auth_methods: evidence.list('Authentication methods', evidence.text('Method')),
    credential_ids: evidence.list('Credentials', evidence.id('Credential')),
    source_ips: evidence.list('Source IPs', evidence.ip('IP')),
    inventory_clients: evidence.count('Clients in the inventory'),
  }),
);
