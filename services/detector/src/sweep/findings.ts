import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A client's requests matched indicators of compromise (`tokenwatch sweep --alert`). */
export const IOC_MATCH = defineFinding(
  'ioc_match',
  evidenceSchema({
    swept_from: evidence.time('Swept from'),
    swept_to: evidence.time('Swept to'),
    indicators_swept: evidence.count('Indicators swept'),
    matches: evidence.list(
      'Matched indicators',
      evidenceSchema({
        indicator: evidence.text('Indicator'),
        first_seen: evidence.time('First seen'),
        last_seen: evidence.time('Last seen'),
        requests: evidence.count('Requests'),
        successes: evidence.count('Succeeded'),
      }),
    ),
  }),
);
