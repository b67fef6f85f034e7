import { z } from 'zod';

/**
 * Evidence fields: how a finding describes its evidence so that a reader (the notifier, the
 * terminal, the console) shows any finding without knowing its keys. A finding's evidence
 * schema (defineFinding, ./finding.ts) is an object of these fields, each carrying a label and
 * a kind. Readers walk the schema (readEvidence) instead of guessing from key names, so a key
 * renamed in a detector is renamed everywhere, and a new finding needs no reader change.
 */

/** How a scalar value is shown. */
export const SCALAR_KINDS = [
  'text', // free text, escaped
  'id', // an identifier (client, credential, event id): shown as code
  'jti', // a client-assertion jti: shown as code; the investigation query filters on it
  'ip', // an IP address: shown as code
  'network', // a CIDR network: shown as code
  'asn', // an autonomous system number: shown as AS<n>, 0 (unknown) left out
  'count', // a whole number of things
  'number', // a measured or computed number
  'flag', // yes or no
  'time', // an instant (ISO 8601 text)
] as const;
export type ScalarKind = (typeof SCALAR_KINDS)[number];
export type EvidenceKind = ScalarKind | 'list' | 'group';

export interface EvidenceFieldMeta {
  readonly label: string;
  readonly kind: EvidenceKind;
}

/** Where each evidence field's label and kind are kept (a zod registry, keyed by schema). */
export const evidenceFields = z.registry<EvidenceFieldMeta, z.core.$ZodType>();

// Evidence is written by our own detectors, but it is also read back from the database: every
// text is bounded so a stored row cannot make a message unbounded.
const MAX_TEXT = 1_000;
const MAX_ITEMS = 1_000;

function field<S extends z.ZodType>(schema: S, kind: EvidenceKind, label: string): S {
  evidenceFields.add(schema, { label, kind });
  return schema;
}

/**
 * The field constructors. Each returns a zod schema with its label and kind attached; a field
 * that may be absent is `evidence.time('…').nullable()` (readers unwrap it).
 */
export const evidence = {
  text: (label: string) => field(z.string().max(MAX_TEXT), 'text', label),
  id: (label: string) => field(z.string().max(MAX_TEXT), 'id', label),
  jti: (label: string) => field(z.string().max(MAX_TEXT), 'jti', label),
  ip: (label: string) => field(z.string().max(64), 'ip', label),
  network: (label: string) => field(z.string().max(64), 'network', label),
  asn: (label: string) => field(z.number().int().nonnegative(), 'asn', label),
  count: (label: string) => field(z.number().int().nonnegative(), 'count', label),
  number: (label: string) => field(z.number().finite(), 'number', label),
  flag: (label: string) => field(z.boolean(), 'flag', label),
  time: (label: string) => field(z.iso.datetime({ offset: true }), 'time', label),
  list: <S extends z.ZodType>(label: string, item: S) => field(z.array(item).max(MAX_ITEMS), 'list', label),
  group: <T extends z.ZodRawShape>(label: string, shape: T) => field(z.strictObject(shape), 'group', label),
};

/** A finding's evidence: a strict object of evidence fields (an unknown key is an error). */
export function evidenceSchema<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape);
}
export type EvidenceSchema = z.ZodObject<z.ZodRawShape, z.core.$strict>;

/** Evidence as readers show it: every field with its label and kind, in schema order. */
export type EvidenceValue =
  | { readonly kind: ScalarKind; readonly value: string | number | boolean | null }
  | { readonly kind: 'list'; readonly items: readonly EvidenceValue[] }
  | { readonly kind: 'group'; readonly fields: readonly EvidenceField[] };

export interface EvidenceField {
  readonly key: string;
  readonly label: string;
  readonly value: EvidenceValue;
}

/** The label and kind of a field, looking through .nullable() and .optional(). */
export function fieldMeta(schema: z.core.$ZodType): EvidenceFieldMeta | undefined {
  const meta = evidenceFields.get(schema);
  if (meta) return meta;
  if (schema instanceof z.ZodNullable || schema instanceof z.ZodOptional) return fieldMeta(schema.unwrap());
  return undefined;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  return schema instanceof z.ZodNullable || schema instanceof z.ZodOptional ? unwrap(schema.unwrap()) : schema;
}

/**
 * Evidence that its schema has accepted, as labelled fields. Walks the schema, not the value:
 * the field order and labels are the finding's own.
 */
export function readEvidence(schema: EvidenceSchema, value: Readonly<Record<string, unknown>>): EvidenceField[] {
  return Object.entries(schema.shape).map(([key, fieldSchema]) => ({
    key,
    label: fieldMeta(fieldSchema)?.label ?? key.replace(/_/g, ' '),
    value: readValue(fieldSchema, value[key]),
  }));
}

function readValue(schema: z.core.$ZodType, value: unknown): EvidenceValue {
  const inner = unwrap(schema);
  if (value !== null && value !== undefined) {
    if (inner instanceof z.ZodArray && Array.isArray(value)) {
      return { kind: 'list', items: value.map((item) => readValue(inner.element, item)) };
    }
    if (inner instanceof z.ZodObject && typeof value === 'object' && !Array.isArray(value)) {
      return { kind: 'group', fields: readEvidence(inner as EvidenceSchema, value as Record<string, unknown>) };
    }
  }
  const kind = fieldMeta(schema)?.kind;
  return { kind: kind && kind !== 'list' && kind !== 'group' ? kind : 'text', value: scalar(value) };
}

function scalar(value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/**
 * Evidence no schema describes (an unknown finding, or evidence its schema refuses), shown as
 * it is: each key as text, nested values as JSON. Nothing is hidden because it is unexpected.
 */
export function readUntypedEvidence(value: Readonly<Record<string, unknown>>): EvidenceField[] {
  return Object.entries(value).map(([key, inner]) => ({ key, label: key.replace(/_/g, ' '), value: { kind: 'text', value: scalar(inner) } }));
}
