import { RAW_ARRAY_LIMIT, RAW_STRING_LIMIT } from './raw.js';
import { FORMATS } from './registry.js';
import type { FormatAdapter } from './types.js';

/**
 * docs/formats/allowlists.md: which fields of each format's source records the `raw` column
 * keeps, written from the adapters' own `rawFields`, so the page cannot drift from the code.
 * scripts/generate-allowlists.mjs writes it; a unit test fails while the committed page differs.
 */
export function allowlistsMarkdown(formats: readonly FormatAdapter[] = FORMATS): string {
  const lines = [
    '# What the `raw` column keeps, per format',
    '',
    '<!-- Generated from each adapter\'s rawFields by scripts/generate-allowlists.mjs (after `npm run build`); do not edit. -->',
    '',
    'Beside the canonical columns, each stored event keeps in `raw` a JSON copy of the record it came from, built',
    'fail-closed (services/ingest/src/formats/raw.ts): only the fields listed below are copied, every other field, known or',
    'not, is dropped. Then, as a second line of defence, a secret-named key (`client_secret`, `authorization`, ...)',
    'and a credential-looking string (a JWT, a `Basic`/`Bearer` value, `client_secret=...`) are redacted even in a',
    'listed field.',
    '',
    '- A path is dot-separated keys of the source record: for an envelope (an Okta Event Hook delivery, an Auth0',
    '  webhook batch or stream record, an EventBridge, CloudTrail or Event Hubs envelope) the inner record the event',
    '  came from; for a Keycloak log line, its parsed fields in the shape of the admin REST EventRepresentation',
    '  (plus `replay` for a replay warning, `log` and `mdc` for a JSON log record or a line printed with its MDC).',
    `- \`[]\` walks into an array: each item (the first ${RAW_ARRAY_LIMIT}) keeps what the rest of the path names.`,
    '- A path keeps a scalar (string, number, boolean, null) only: an object or array where a path ends is dropped,',
    '  never copied whole.',
    `- Strings longer than ${RAW_STRING_LIMIT} characters are cut (after redaction).`,
    '',
  ];
  for (const format of formats) {
    lines.push(`## ${format.name}`, '');
    if (format.rawFields.length === 0) {
      lines.push('Nothing: the record is the event itself, and its validated fields are the row (`raw` stays empty).', '');
      continue;
    }
    lines.push(`${format.rawFields.length} fields.`, '', '| field | kept |', '|---|---|');
    for (const path of format.rawFields) lines.push(`| \`${path}\` | ${path.includes('[]') ? 'from each array item' : 'its value'} |`);
    lines.push('');
  }
  return lines.join('\n');
}
