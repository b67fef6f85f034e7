import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A credential still minting max_credential_age_days after its first use. */
export const STALE_CREDENTIAL = defineFinding(
  'stale_credential',
  evidenceSchema({
    credential_id: evidence.id('Credential'),
    credential_source: evidence.text('Named by'),
    auth_method: evidence.text('Authentication method'),
    first_use: evidence.time('First use'),
    last_use: evidence.time('Last use'),
    age_days: evidence.number('Age (days)'),
    max_credential_age_days: evidence.number('Allowed age (days)'),
    requests: evidence.count('Requests with it'),
    networks: evidence.list('Networks used with it', evidence.asn('ASN')),
    countries: evidence.list('Countries used with it', evidence.text('Country')),
  }),
);
