import { expect } from 'vitest';
import { tokenRequestSchema, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import type { Adapted, FormatAdapter } from '@tokenwatch/shared/formats/types';

type Json = Record<string, unknown>;

/** The adapter's result as an event, or a failure that shows what it was instead. */
export function eventOf(result: Adapted | undefined): Extract<Adapted, { kind: 'event' }> {
  if (result?.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  return result;
}

/** The event as the dispatcher will see it: it must pass the TokenRequest schema. */
export function validated(event: Json): TokenRequest {
  const parsed = tokenRequestSchema.safeParse(event);
  if (!parsed.success) throw new Error(`schema rejected ${JSON.stringify(event)}: ${JSON.stringify(parsed.error.issues)}`);
  return parsed.data;
}

/** `single`: the one result an adapter makes of a record; `adaptOne`: that result as an event. */
export function adapterHelpers(adapter: FormatAdapter) {
  const single = (record: Json): Adapted => {
    const results = adapter.adapt(record);
    expect(results).toHaveLength(1);
    return results[0] as Adapted;
  };
  return { single, adaptOne: (record: Json) => eventOf(single(record)) };
}
