import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A request (success or failure) from a client or credential on the watch list (`tokenwatch watch add`). */
export const WATCHED_CREDENTIAL = defineFinding(
  'watched_credential',
  evidenceSchema({
    watch: evidence.group('Watch', {
      watch_id: evidence.id('Watch'),
      credential_id: evidence.id('Watched credential (empty: every credential)'),
      reason: evidence.text('Reason'),
      added_by: evidence.text('Added by'),
      added_at: evidence.time('Added at'),
      since: evidence.time('Watched since'),
      until: evidence.time('Watched until').nullable(),
    }),
    day: evidence.text('Day (UTC)'),
    requests: evidence.count('Requests'),
    successes: evidence.count('Succeeded'),
    failures: evidence.count('Failed'),
    credentials: evidence.list('Credentials used', evidence.id('Credential')),
    source_ips: evidence.list('Source IPs', evidence.ip('IP')),
    countries: evidence.list('Countries', evidence.text('Country')),
    user_agents: evidence.list('User agents', evidence.text('User agent')),
    error_codes: evidence.list('Error codes', evidence.text('Error code')),
  }),
);
