// Writes docs/token-request.schema.json from the zod schema (run after the build).
import { writeFileSync } from 'node:fs';
import { tokenRequestJsonSchema } from '@tokenwatch/shared/events/json-schema';

writeFileSync(new URL('../docs/token-request.schema.json', import.meta.url), `${JSON.stringify(tokenRequestJsonSchema(), null, 2)}\n`);
