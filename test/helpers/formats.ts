import { expect } from 'vitest';
import { tokenRequestSchema, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import type { FormatAdapter } from '@tokenwatch/ingest/formats/types';
import type { Adapted } from '@tokenwatch/ingest/results';

type Json = Record<string, unknown>;

/** The adapter's result as an event, or a failure that shows what it was instead. */
export function eventOf(result: Adapted | undefined): Extract<Adapted, { kind: 'ok' }> {
  if (result?.kind !== 'ok') throw new Error(`expected an event, got ${JSON.stringify(result)}`);
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

/** The one candidate event in an adapter's results; fails the test on anything else. */
export function onlyEvent(results: Adapted[]): Json {
  expect(results).toHaveLength(1);
  return eventOf(results[0]).event;
}

/** The reason of the one skip or dead letter in an adapter's results. */
export function onlyReason(results: Adapted[], kind: 'skip' | 'dlq'): string {
  expect(results).toHaveLength(1);
  const [result] = results;
  if (result?.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(result)}`);
  return result.reason;
}

/** items[index], or a failure saying the fixture is shorter than the test thinks. */
export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`fixture has no item ${index}`);
  return item;
}

/** A deep copy of a record with `fields` added to every object in it, at every depth. */
export function stuffEverywhere(value: unknown, fields: Json): unknown {
  if (Array.isArray(value)) return value.map((item) => stuffEverywhere(item, fields));
  if (value === null || typeof value !== 'object') return value;
  const copy: Json = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = stuffEverywhere(inner, fields);
  return { ...copy, ...fields };
}
