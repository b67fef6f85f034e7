import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '@tokenwatch/shared/config/settings';
import { SETTING_DOCS, withSettingsTable } from '@tokenwatch/shared/config/settings-doc';

describe("README's table of environment variables", () => {
  it('is the table generated from settings-doc.ts (run `npm run docs` after the build)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toBe(withSettingsTable(readme));
  });

  it('documents exactly the settings the schema reads', () => {
    expect(Object.keys(SETTING_DOCS).sort()).toEqual(Object.keys(settingsSchema.shape).sort());
  });
});
