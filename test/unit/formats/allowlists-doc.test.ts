import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowlistsMarkdown } from '@tokenwatch/ingest/formats/allowlists-doc';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';

describe('docs/formats/allowlists.md', () => {
  it('is the page generated from the adapters (run `npm run docs` after the build)', () => {
    const committed = readFileSync(new URL('../../../docs/formats/allowlists.md', import.meta.url), 'utf8');
    expect(committed).toBe(allowlistsMarkdown());
  });

  it('has a section per format listing every allowlisted path', () => {
    const page = allowlistsMarkdown();
    for (const format of FORMATS) {
      expect(page).toContain(`## ${format.name}\n`);
      for (const path of format.rawFields) expect(page).toContain(`| \`${path}\` |`);
    }
  });
});
