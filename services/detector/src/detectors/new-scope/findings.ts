import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A successful grant carried a scope or audience the client was never granted before. */
export const NEW_SCOPE = defineFinding(
  'new_scope',
  evidenceSchema({
    new_scopes: evidence.list(
      'New scopes and audiences',
      evidenceSchema({
        kind: evidence.text('Kind'),
        value: evidence.text('Value'),
        sensitive: evidence.text('Sensitive (matched pattern)'),
      }),
    ),
    granted_scopes: evidence.list('Scopes granted in the request', evidence.text('Scope')),
    audience: evidence.text('Audience of the request'),
    client_first_seen: evidence.time('Client first seen'),
    request: evidence.group('The request', {
      first_request: evidence.time('First request'),
      source_ips: evidence.list('Source IPs', evidence.ip('IP')),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      country: evidence.text('Country'),
      user_agent: evidence.text('User agent'),
      auth_method: evidence.text('Authentication method'),
      credential_id: evidence.id('Credential'),
    }),
    usual_scopes: evidence.list(
      'Scopes and audiences granted before',
      evidenceSchema({
        kind: evidence.text('Kind'),
        value: evidence.text('Value'),
        first_seen: evidence.time('First seen'),
        last_seen: evidence.time('Last seen'),
        requests: evidence.count('Requests'),
      }),
    ),
  }),
);
