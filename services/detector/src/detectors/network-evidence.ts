import { evidence } from '@tokenwatch/shared/alerts/evidence';

/**
 * A network (ASN) a client used, with when and how much: the "usual networks" that several
 * findings' evidence sets beside the new one, labelled the same way in every message.
 */
export const networkUse = {
  asn: evidence.asn('ASN'),
  as_org: evidence.text('Network operator'),
  country: evidence.text('Country'),
  first_seen: evidence.time('First seen'),
  last_seen: evidence.time('Last seen'),
  requests: evidence.count('Requests'),
};
