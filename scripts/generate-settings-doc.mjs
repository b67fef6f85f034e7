// Writes the README's table of environment variables from shared/src/config/settings-doc.ts (run after the build).
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '@tokenwatch/shared/config/settings-doc';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withSettingsTable(readFileSync(path, 'utf8')));
