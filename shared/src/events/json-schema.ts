import { z } from 'zod';
import { tokenRequestSchema, UNKNOWN, UNSPECIFIED_IP } from './token-request.js';

/**
 * The JSON Schema of what producers may send (the input side of the zod schema), for users
 * whose gateways emit TokenRequest JSON. docs/token-request.schema.json is this, committed;
 * a unit test keeps the two equal.
 */
export function tokenRequestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(tokenRequestSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'urn:tokenwatch:token-request:v1',
    title: 'TokenRequest v1',
    description:
      'One OAuth token request by a machine client, in tokenwatch canonical form. Every required field is required of every ' +
      `source: one that did not log a fact writes "${UNKNOWN}" for a text field and "${UNSPECIFIED_IP}" for source_ip, never a guess.`,
  };
}
