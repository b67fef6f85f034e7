import { redactValue } from '@tokenwatch/shared/redact';
import { clip, isObject } from './fields.js';

/**
 * The `raw` column: what tokenwatch keeps of the record an event came from. It is built
 * fail-closed: an adapter lists the fields it keeps (`rawFields`), and only those are copied;
 * every other field, known or not, is dropped. A string that looks like a credential (a JWT, a
 * `Basic`/`Bearer` value, `client_secret=...`) is redacted even in a kept field.
 *
 * Path syntax: dot-separated keys (`client.userAgent.rawUserAgent`); `[]` after a key walks
 * into an array (`request.ipChain[].ip`, or `scope[]` for an array of strings). A path keeps a
 * scalar (string, number, boolean, null) only: an object or array found where a path ends is
 * dropped, never copied whole, so listing `debugData` cannot let its contents through.
 */

type Spec = {
  /** The path ends here: a scalar is kept. */
  leaf: boolean;
  /** Keys picked from an object found here. */
  fields?: Map<string, Spec>;
  /** How each item of an array found here is picked. */
  items?: Spec;
};

/** Strings longer than this are cut in `raw` (after redaction, so no credential is cut short of its pattern). */
export const RAW_STRING_LIMIT = 2048;
/**
 * Before redaction a string is cut to this: the patterns then see every credential that starts
 * within the kept RAW_STRING_LIMIT characters and is up to this margin long past it, and never
 * read more than this of a string, however long the field the source sent.
 */
const REDACTION_WINDOW = RAW_STRING_LIMIT + 1024;
/** Arrays keep at most this many items in `raw`. */
export const RAW_ARRAY_LIMIT = 32;

const compiled = new WeakMap<readonly string[], Spec>();

function compile(paths: readonly string[]): Spec {
  const cached = compiled.get(paths);
  if (cached) return cached;
  const root: Spec = { leaf: false };
  for (const path of paths) {
    let spec = root;
    for (const segment of path.split('.')) {
      const match = /^([^[\]]+)((?:\[\])*)$/.exec(segment);
      if (!match) throw new Error(`bad raw field path ${path}`);
      const key = match[1] as string;
      spec.fields ??= new Map();
      let next = spec.fields.get(key);
      if (!next) spec.fields.set(key, (next = { leaf: false }));
      for (let depth = 0; depth < (match[2] as string).length / 2; depth += 1) next = next.items ??= { leaf: false };
      spec = next;
    }
    spec.leaf = true;
  }
  compiled.set(paths, root);
  return root;
}

const isScalar = (value: unknown): boolean =>
  value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));

function pick(value: unknown, spec: Spec): unknown {
  if (Array.isArray(value)) {
    if (!spec.items) return undefined;
    const items = spec.items;
    return value
      .slice(0, RAW_ARRAY_LIMIT)
      .map((item) => pick(item, items))
      .filter((item) => item !== undefined);
  }
  if (typeof value === 'object' && value !== null) {
    if (!spec.fields) return undefined;
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of spec.fields) {
      if (!Object.hasOwn(value, key)) continue;
      const picked = pick((value as Record<string, unknown>)[key], inner);
      // defineProperty: a `__proto__` key stays a plain key.
      if (picked !== undefined) Object.defineProperty(copy, key, { value: picked, enumerable: true, writable: true, configurable: true });
    }
    return Object.keys(copy).length > 0 ? copy : undefined;
  }
  return spec.leaf && isScalar(value) ? value : undefined;
}

/** The allowlisted copy of `record`: only the fields `rawFields` names, scalars at the end of each path. */
export function pickRaw(record: Record<string, unknown>, rawFields: readonly string[]): Record<string, unknown> {
  const picked = pick(record, compile(rawFields));
  return isObject(picked) ? picked : {};
}

/**
 * Every string of a picked copy through `cut`; keys are the allowlist's own. Lone UTF-16
 * surrogates become U+FFFD: `raw` is read by people, and ClickHouse refuses the whole batch
 * over one (see the TokenRequest schema).
 */
function mapStrings(value: unknown, cut: number): unknown {
  if (typeof value === 'string') return (clip(value, cut) ?? '').toWellFormed();
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, cut));
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      Object.defineProperty(copy, key, { value: mapStrings(inner, cut), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}

/**
 * The `raw` column's text: the allowlisted copy, cut to the redaction window, then redacted
 * (secret-named keys and credential-looking strings) as a second line of defence, then bounded,
 * as JSON. Its size is bounded whatever the record: the allowlist names a fixed set of
 * fields, arrays keep RAW_ARRAY_LIMIT items, strings RAW_STRING_LIMIT characters.
 */
export function rawJson(record: Record<string, unknown>, rawFields: readonly string[]): string {
  const window = mapStrings(pickRaw(record, rawFields), REDACTION_WINDOW);
  return JSON.stringify(mapStrings(redactValue(window), RAW_STRING_LIMIT));
}
