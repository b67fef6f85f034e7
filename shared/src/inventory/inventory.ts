import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * The client inventory (TOKENWATCH_INVENTORY, docs/inventory.md): who owns each machine
 * identity, which Slack channel hears about it, and how critical it is. A CMDB export as CSV
 * with the header `tenant,client_id,name,owner,team,slack_channel,criticality,tags`, or YAML
 * with the same keys. The detector reads it (criticality, unknown_client), the alerts carry
 * its owner, team and channel, and `tokenwatch clients` shows it beside what the logs prove.
 *
 * It is operator input, but a CMDB export is large and edited by many hands: every size is
 * bounded, and a bad row is one line naming the row and the field.
 */

export const INVENTORY_COLUMNS = ['tenant', 'client_id', 'name', 'owner', 'team', 'slack_channel', 'criticality', 'tags'] as const;

/** `critical` raises its clients' alerts one severity step; the others are recorded and shown. */
export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/**
 * Larger than any CMDB export of machine identities we know of. Parsing blocks the event loop
 * (once at start-up and once per changed file), so the bound is also a bound on that pause:
 * 150,000 rows (12 MiB of CSV) took 17.7 s on the shared 2-core test machine at load 25, where
 * a bare split of the same text took 0.34 s (about ten times its unloaded time).
 */
export const MAX_INVENTORY_BYTES = 16 * 1024 * 1024;
export const MAX_INVENTORY_ROWS = 100_000;
const MAX_TAGS = 32;

// YAML may give a number for an id (client_id: 12345); a CMDB never means a number there.
const text = (max: number) => z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string().trim().max(max, `at most ${max} characters`));
const required = (max: number) => text(max).pipe(z.string().min(1, 'required'));

// Same shape the notifier accepts for a channel: an id (C…, G…) or a name with or without '#'.
const channel = text(80).pipe(z.string().regex(/^(#?[a-z0-9][a-z0-9._-]*|[CG][A-Z0-9]+)?$/, 'expected a channel id (C0123…) or a #name'));

// Tags: a list in YAML, `;`-separated in CSV (commas already separate the columns).
const tags = z
  .union([z.string(), z.array(text(64))])
  .optional()
  .transform((value) => (typeof value === 'string' ? value.split(';') : (value ?? [])).map((tag) => tag.trim()).filter(Boolean))
  .pipe(z.array(z.string().max(64, 'a tag has at most 64 characters')).max(MAX_TAGS, `at most ${MAX_TAGS} tags`));

export const inventoryEntrySchema = z.strictObject({
  tenant: required(256),
  client_id: required(256),
  name: text(256).default(''),
  owner: text(256).default(''),
  team: text(256).default(''),
  slack_channel: channel.default(''),
  // Blank means "not rated": medium, so it neither raises severity nor hides anything.
  criticality: text(16)
    .transform((value) => value.toLowerCase() || 'medium')
    .pipe(z.enum(CRITICALITIES, { error: `expected one of ${CRITICALITIES.join(', ')}` }))
    .default('medium'),
  tags,
});

export type InventoryEntry = z.output<typeof inventoryEntrySchema>;

const yamlDocumentSchema = z.union([
  z.array(z.unknown()),
  z.strictObject({
    // The inventory lists every client that may mint tokens: any other is unknown_client.
    require: z.boolean().default(false),
    clients: z.array(z.unknown()),
  }),
]);

const key = (tenant: string, clientId: string) => `${tenant}\u0000${clientId}`;

/** A parsed inventory: entries by (tenant, client_id), and whether it claims to be complete. */
export class Inventory {
  private readonly byClient: ReadonlyMap<string, InventoryEntry>;

  constructor(
    readonly entries: readonly InventoryEntry[],
    /** The file says it is complete (`require: true`); TOKENWATCH_INVENTORY_REQUIRE says so too. */
    readonly complete: boolean,
    /** sha256 of the file's bytes, to tell a changed file from a touched one. */
    readonly hash: string,
  ) {
    this.byClient = new Map(entries.map((entry) => [key(entry.tenant, entry.client_id), entry]));
  }

  get(tenant: string, clientId: string): InventoryEntry | undefined {
    return this.byClient.get(key(tenant, clientId));
  }

  get size(): number {
    return this.byClient.size;
  }
}

/** No inventory configured: nobody is known, nobody is unknown. */
export const EMPTY_INVENTORY = new Inventory([], false, '');

/**
 * Parses an inventory file's bytes; `path` picks the format (.csv, else YAML) and names the
 * file in errors. Throws a ConfigError of one line naming the row and what is wrong with it.
 */
export function parseInventory(bytes: Buffer, path: string, { requireComplete = false } = {}): Inventory {
  const fail = (where: string, message: string): never => {
    throw new ConfigError(`invalid inventory ${path}: ${where}${message}`.replace(/[\r\n]+/g, ' '));
  };
  if (bytes.length > MAX_INVENTORY_BYTES) fail('', `larger than ${MAX_INVENTORY_BYTES} bytes`);
  const source = bytes.toString('utf8');
  const rows = extname(path).toLowerCase() === '.csv' ? readCsv(source, fail) : readYaml(source, fail);
  if (rows.rows.length > MAX_INVENTORY_ROWS) fail('', `more than ${MAX_INVENTORY_ROWS} clients`);

  const entries: InventoryEntry[] = [];
  const seen = new Map<string, string>();
  for (const { where, value } of rows.rows) {
    const result = inventoryEntrySchema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      const id = value !== null && typeof value === 'object' && 'client_id' in value ? ` (client_id ${JSON.stringify(String(value.client_id)).slice(0, 80)})` : '';
      fail(`${where}${id}: `, `${field}${issue?.message ?? 'invalid'}`);
      continue;
    }
    const entry = result.data;
    const earlier = seen.get(key(entry.tenant, entry.client_id));
    if (earlier) fail(`${where}: `, `client ${JSON.stringify(entry.client_id)} of tenant ${JSON.stringify(entry.tenant)} is already listed at ${earlier}`);
    seen.set(key(entry.tenant, entry.client_id), where);
    entries.push(entry);
  }
  const hash = createHash('sha256').update(bytes).digest('hex');
  return new Inventory(entries, requireComplete || rows.require, hash);
}

interface RawRows {
  readonly rows: ReadonlyArray<{ where: string; value: unknown }>;
  readonly require: boolean;
}

type Fail = (where: string, message: string) => never;

function readCsv(source: string, fail: Fail): RawRows {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(source, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      trim: true,
      // The header must be exactly the CMDB's columns (any order): a typo is an error, not a
      // silently empty field.
      columns: (header: string[]) => {
        const names = header.map((name) => name.trim().toLowerCase());
        const unknown = names.find((name) => !(INVENTORY_COLUMNS as readonly string[]).includes(name));
        if (unknown !== undefined) fail('header: ', `unknown column ${JSON.stringify(unknown.slice(0, 64))}: expected ${INVENTORY_COLUMNS.join(',')}`);
        for (const needed of ['tenant', 'client_id'] as const) if (!names.includes(needed)) fail('header: ', `missing column ${needed}: expected ${INVENTORY_COLUMNS.join(',')}`);
        return names;
      },
      max_record_size: 64 * 1024,
      to: MAX_INVENTORY_ROWS + 1,
    }) as unknown as typeof records;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const { message, lines } = error as { message?: string; lines?: number };
    return fail(lines ? `line ${lines}: ` : '', (message ?? 'not CSV').replace(/^Invalid Record Length: /, ''));
  }
  return { rows: records.map(({ record, info }) => ({ where: `line ${info.lines}`, value: record })), require: false };
}

function readYaml(source: string, fail: Fail): RawRows {
  let document: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs"); the byte bound holds the rest.
    document = parseYaml(source, { maxAliasCount: 100, uniqueKeys: true });
  } catch (error) {
    const { message, linePos } = error as { message?: string; linePos?: Array<{ line: number }> };
    // The library's first line repeats the position after the message: the prefix says it.
    const first = (message ?? 'not YAML').split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'not YAML';
    return fail(linePos?.[0] ? `line ${linePos[0].line}: ` : '', first);
  }
  const result = yamlDocumentSchema.safeParse(document ?? []);
  if (!result.success) return fail('', 'expected a list of clients, or a mapping with `clients:` (a list) and optionally `require: true`');
  const [clients, require] = Array.isArray(result.data) ? [result.data, false] : [result.data.clients, result.data.require];
  return { rows: clients.map((value, index) => ({ where: `clients[${index}]`, value })), require };
}
