import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { MAX_REASON_LENGTH, UNEXPECTED_FAILURE } from '@tokenwatch/ingest/decode';
import type { DecodeResult } from '@tokenwatch/ingest/results';
import { readRow, rowStrings } from '../../helpers/stored-row.js';

/**
 * Hostile input for the decoder's fuzz tests: the fixtures of every format, values to put into
 * them (lone surrogates, credentials, wrong types), and the checks every result must pass.
 */

const FIXTURES = new URL('../../fixtures/formats/', import.meta.url);

/** Every fixture record of a format, as parsed JSON (a .jsonl file gives one per line). */
export function jsonFixtures(format: string): unknown[] {
  const dir = new URL(`${format}/`, FIXTURES);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json') || file.endsWith('.jsonl'))
    .flatMap((file) => {
      const text = readFileSync(new URL(file, dir), 'utf8');
      return file.endsWith('.jsonl')
        ? text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown)
        : [JSON.parse(text) as unknown];
    });
}

/** The lines of a Keycloak text log fixture. */
export function logFixture(file: string): string[] {
  return readFileSync(new URL(`keycloak/${file}`, FIXTURES), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Every credential the tests plant holds this, so finding it anywhere stored is a leak. */
export const MARK = 'Zx9SECRETMARK';

/** Credentials as they appear in text, each in a shape the redaction patterns are meant to catch. */
const secretShapes = (m: string): string[] => [
  `eyJhbGciOiJub25lIn0.eyJ${m}.c2lnbmF0dXJl${m}`,
  `Bearer ${m}`,
  `Basic ${m}`,
  `DPoP ${m}`,
  `client_secret=${m}`,
  `client_assertion=${m}&grant_type=client_credentials`,
  `"password": "${m}"`,
  `refresh_token: ${m}`,
  `https://svc:${m}@idp.example.com/token`,
];

/** A credential inside some text, separated from it the way it would be in a header or a log. */
export const secretText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', 'agent/1.0 (', 'x ', '"', "'", 'scope '),
    fc.nat({ max: 999_999 }).chain((n) => fc.constantFrom(...secretShapes(`${MARK}${n}`))),
    fc.constantFrom('', ' tail', ')', '"', ', next'),
  )
  .map(([before, secret, after]) => `${before}${secret}${after}`);

/** Keys whose value is a credential whatever it looks like: adapters must never copy them. */
const SECRET_KEYS = ['client_secret', 'client_assertion', 'authorization', 'Authorization', 'password', 'access_token', 'refresh_token', 'token', 'code'];

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** Text with a lone UTF-16 surrogate in it: what JSON's `"\ud800"` parses to. */
export const illFormed: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...LONE_SURROGATES), fc.string({ maxLength: 6 }))
  .map(([before, surrogate, after]) => `${before}${surrogate}${after}`);

/**
 * Strings a field may hold: plausible values, wrong ones, ill-formed ones, but no credential
 * (for pieces of text: a credential glued to the word before it is no longer one the patterns know).
 */
export const plainHostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  illFormed,
  fc.constantFrom('', ' ', 'null', '0', '-1', '1.2.3.4', '::', 'fe80::1%eth0', '2026-11-28T01:02:03Z', '2026-11-28 01:02:03,456', 'client_credentials', 'CLIENT_LOGIN', 'seccft', 'Token_POST', 'SUCCESS', '__proto__', 'constructor'),
);

/** A whole field's value: any of the above, or a credential. */
export const hostileString: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: plainHostileString }, secretText);

/** Any JSON value a field may hold instead of the expected one. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** One change to a record: replace the value at some path, or add a secret-named key to some object. */
export type Mutation = { kind: 'set'; at: number; value: unknown } | { kind: 'secretKey'; at: number; key: string; value: string };

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: hostileValue }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('secretKey' as const),
        at: fc.nat(),
        key: fc.constantFrom(...SECRET_KEYS),
        value: fc.nat({ max: 999_999 }).map((n) => `${MARK}plain${n}`),
      }),
    },
  ),
  { minLength: 1, maxLength: 6 },
);

type Container = Record<string, unknown> | unknown[];

/** Every place in a JSON value: the container and the key of each value in it, at any depth. */
function places(value: unknown, found: Array<{ container: Container; key: string | number }> = []) {
  if (Array.isArray(value)) {
    value.forEach((inner, index) => {
      found.push({ container: value, key: index });
      places(inner, found);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      found.push({ container: value as Record<string, unknown>, key });
      places(inner, found);
    }
  }
  return found;
}

function objectsIn(value: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const inner of value) objectsIn(inner, found);
  else if (typeof value === 'object' && value !== null) {
    found.push(value as Record<string, unknown>);
    for (const inner of Object.values(value)) objectsIn(inner, found);
  }
  return found;
}

/** A copy of `record` with the mutations applied, in order. */
export function mutate(record: unknown, changes: readonly Mutation[]): unknown {
  const copy = structuredClone(record);
  for (const change of changes) {
    if (change.kind === 'set') {
      const all = places(copy);
      const place = all[change.at % Math.max(all.length, 1)];
      if (place) (place.container as Record<string | number, unknown>)[place.key] = change.value;
    } else {
      const objects = objectsIn(copy);
      const target = objects[change.at % Math.max(objects.length, 1)];
      if (target) target[change.key] = change.value;
    }
  }
  return copy;
}

function strings(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') found.push(value);
  else if (Array.isArray(value)) for (const inner of value) strings(inner, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      found.push(key);
      strings(inner, found);
    }
  }
  return found;
}

/**
 * What must hold of every decode, whatever went in: at least one result; each ok, dlq or skip;
 * reasons bounded, well-formed and never the decoder's own failure; the stored line and its
 * `raw` well-formed once parsed (ClickHouse refuses a batch over one lone surrogate); and no
 * planted credential in what is stored or dead-lettered.
 */
export function checkResults(results: readonly DecodeResult[]): void {
  expect(results.length).toBeGreaterThan(0);
  for (const result of results) {
    expect(['ok', 'dlq', 'skip']).toContain(result.kind);
    if (result.kind === 'ok') {
      expect(result.line.includes(MARK), `credential stored: ${result.line}`).toBe(false);
      // The unmapped auth method becomes a metrics label.
      expect(result.unknownAuthMethod?.includes(MARK) ?? false, `credential in a label: ${result.unknownAuthMethod}`).toBe(false);
      const stored = readRow(result.line);
      const storedStrings = rowStrings(stored);
      if (typeof stored.raw === 'string' && stored.raw !== '') storedStrings.push(...strings(JSON.parse(stored.raw)));
      for (const text of storedStrings) {
        expect(text.isWellFormed(), `ill-formed text stored: ${JSON.stringify(text)}`).toBe(true);
        expect(text.includes(MARK), `credential stored: ${text}`).toBe(false);
      }
    } else {
      expect(result.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH + 1);
      expect(result.reason.isWellFormed()).toBe(true);
      expect(result.reason.startsWith(UNEXPECTED_FAILURE), result.reason).toBe(false);
      if (result.kind === 'dlq') expect(result.reason.includes(MARK), `credential in a reason: ${result.reason}`).toBe(false);
    }
  }
}
