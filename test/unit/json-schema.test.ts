import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenRequestJsonSchema } from '@tokenwatch/shared/events/json-schema';

describe('docs/token-request.schema.json', () => {
  it('is the JSON Schema generated from the zod contract (run `npm run docs` after changing it)', () => {
    const committed: unknown = JSON.parse(readFileSync(new URL('../../docs/token-request.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(tokenRequestJsonSchema());
  });

  it('requires the contract fields and offers the optional ones', () => {
    const schema = tokenRequestJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(
      expect.arrayContaining(['event_id', 'time', 'idp', 'tenant', 'client_id', 'grant_type', 'auth_method', 'outcome', 'source_ip']),
    );
    for (const optional of ['client_name', 'credential_id', 'error_code', 'user_agent', 'audience', 'assertion', 'replay_reported', 'assertion_unverified', 'geo']) {
      expect(schema.required).not.toContain(optional);
      expect(schema.properties).toHaveProperty(optional);
    }
  });
});
