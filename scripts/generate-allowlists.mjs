// Writes docs/formats/allowlists.md from the adapters' rawFields (run after the build).
import { writeFileSync } from 'node:fs';
import { allowlistsMarkdown } from '@tokenwatch/ingest/formats/allowlists-doc';

writeFileSync(new URL('../docs/formats/allowlists.md', import.meta.url), allowlistsMarkdown());
