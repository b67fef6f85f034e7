import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { raiseSeverity } from '@tokenwatch/shared/alerts/alert';
import { ConfigError } from '@tokenwatch/shared/errors';
import { MAX_INVENTORY_BYTES, parseInventory } from '@tokenwatch/shared/inventory/inventory';
import { loadInventory, openInventory, watchInventory, type InventorySource } from '@tokenwatch/shared/inventory/watch';
import { withOwnership } from '@tokenwatch/detector/ownership';
import { sampleDraft } from '../helpers/alerts.js';
import { waitFor } from '../helpers/wait.js';

const HEADER = 'tenant,client_id,name,owner,team,slack_channel,criticality,tags';
const CSV = [
  HEADER,
  'acme,svc-payments,Payments API,alice@example.com,Payments,#payments-alerts,critical,pci;prod',
  'acme,svc-reports,"Reports, nightly",bob@example.com,Data,,low,',
  'globex,svc-payments,Globex payments,carol@example.com,Globex,C0GLOBEX,,',
].join('\n');

const csv = (text: string) => Buffer.from(text, 'utf8');
const errorOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('client inventory: parsing', () => {
  it('reads a CMDB CSV export: quoted commas, ;-separated tags, blank criticality as medium, (tenant, client_id) as the key', () => {
    const inventory = parseInventory(csv(CSV), 'clients.csv');
    expect(inventory.size).toBe(3);
    expect(inventory.complete).toBe(false);
    expect(inventory.get('acme', 'svc-payments')).toEqual({
      tenant: 'acme',
      client_id: 'svc-payments',
      name: 'Payments API',
      owner: 'alice@example.com',
      team: 'Payments',
      slack_channel: '#payments-alerts',
      criticality: 'critical',
      tags: ['pci', 'prod'],
    });
    expect(inventory.get('acme', 'svc-reports')).toMatchObject({ name: 'Reports, nightly', slack_channel: '', criticality: 'low', tags: [] });
    expect(inventory.get('globex', 'svc-payments')).toMatchObject({ owner: 'carol@example.com', criticality: 'medium' });
    expect(inventory.get('globex', 'svc-reports')).toBeUndefined();
  });

  it('reads YAML as a list, or as a mapping with require: true (the inventory says it is complete)', () => {
    const list = parseInventory(csv('- { tenant: acme, client_id: 12345, owner: alice, tags: [a, b] }\n'), 'clients.yaml');
    expect(list.get('acme', '12345')).toMatchObject({ owner: 'alice', tags: ['a', 'b'], criticality: 'medium' });
    expect(list.complete).toBe(false);
    const complete = parseInventory(csv('require: true\nclients:\n  - tenant: acme\n    client_id: svc-a\n    criticality: CRITICAL\n'), 'clients.yml');
    expect(complete.complete).toBe(true);
    expect(complete.get('acme', 'svc-a')?.criticality).toBe('critical');
    // TOKENWATCH_INVENTORY_REQUIRE makes any inventory complete, CSV included.
    expect(parseInventory(csv(CSV), 'clients.csv', { requireComplete: true }).complete).toBe(true);
  });

  it.each([
    [`${HEADER}\nacme,svc-a,A,o,t,#a,urgent,`, 'clients.csv', 'invalid inventory clients.csv: line 2 (client_id "svc-a"): criticality: expected one of low, medium, high, critical'],
    [`${HEADER}\nacme,svc-a,A,o,t,,,\nacme,,B,o,t,,,`, 'clients.csv', 'invalid inventory clients.csv: line 3 (client_id ""): client_id: required'],
    [`${HEADER}\nacme,svc-a,A,o,t,,,\nacme,svc-a,B,o,t,,,`, 'clients.csv', 'invalid inventory clients.csv: line 3: client "svc-a" of tenant "acme" is already listed at line 2'],
    [`${HEADER}\nacme,svc-a,A,o,t,not a channel,,`, 'clients.csv', 'invalid inventory clients.csv: line 2 (client_id "svc-a"): slack_channel: expected a channel id (C0123…) or a #name'],
    ['tenant,client,owner\nacme,svc-a,o', 'clients.csv', 'invalid inventory clients.csv: header: unknown column "client": expected tenant,client_id,name,owner,team,slack_channel,criticality,tags'],
    ['tenant,owner\nacme,o', 'clients.csv', 'invalid inventory clients.csv: header: missing column client_id'],
    [`${HEADER}\nacme,svc-a,A,o,t,,,,extra`, 'clients.csv', 'invalid inventory clients.csv: line 2: '],
    ['- tenant: acme\n  client_id: svc-a\n  colour: red\n', 'clients.yaml', 'invalid inventory clients.yaml: clients[0] (client_id "svc-a"): Unrecognized key: "colour"'],
    ['clients: nope\n', 'clients.yaml', 'invalid inventory clients.yaml: expected a list of clients'],
    ['- tenant: [unclosed\n', 'clients.yaml', 'invalid inventory clients.yaml: line 2: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ])('refuses a bad row with one line naming the row and the field (%#)', (text, path, expected) => {
    const message = errorOf(() => parseInventory(csv(text), path));
    expect(message).toContain(expected);
    expect(message).not.toMatch(/\n/);
  });

  it('bounds the file size and YAML alias expansion', () => {
    expect(errorOf(() => parseInventory(Buffer.alloc(MAX_INVENTORY_BYTES + 1, 0x20), 'big.csv'))).toBe(`invalid inventory big.csv: larger than ${MAX_INVENTORY_BYTES} bytes`);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    expect(errorOf(() => parseInventory(csv(laughs), 'laughs.yaml'))).toMatch(/^invalid inventory laughs\.yaml: .*alias/i);
  });

  it('says which file cannot be read', async () => {
    await expect(loadInventory('/nonexistent/clients.csv')).rejects.toThrow(/^cannot read TOKENWATCH_INVENTORY=\/nonexistent\/clients\.csv: /);
    await expect(openInventory({ TOKENWATCH_INVENTORY: undefined, TOKENWATCH_INVENTORY_REQUIRE: true }, pino({ level: 'silent' }), new Registry())).rejects.toThrow(
      'invalid setting TOKENWATCH_INVENTORY_REQUIRE: it needs TOKENWATCH_INVENTORY',
    );
  });
});

describe('client inventory: ownership on alerts', () => {
  const inventory = parseInventory(csv(CSV), 'clients.csv');

  it('raises a critical client one severity step, keeps the detector severity, and stamps owner, team and channel', () => {
    const [critical, low, unlisted] = withOwnership(
      [
        sampleDraft(1, { client_id: 'svc-payments', severity: 'high' }),
        sampleDraft(2, { client_id: 'svc-reports', severity: 'high' }),
        sampleDraft(3, { client_id: 'svc-shadow', severity: 'medium' }),
      ],
      inventory,
    );
    expect(critical).toMatchObject({
      severity: 'critical',
      ownership: { owner: 'alice@example.com', team: 'Payments', slack_channel: '#payments-alerts', criticality: 'critical', detector_severity: 'high' },
    });
    expect(low).toMatchObject({ severity: 'high', ownership: { owner: 'bob@example.com', criticality: 'low', detector_severity: 'high' } });
    expect(unlisted).toMatchObject({ severity: 'medium', ownership: { owner: '', team: '', slack_channel: '', criticality: '', detector_severity: 'medium' } });
  });

  it('raises one step and stops at critical', () => {
    expect(['info', 'low', 'medium', 'high', 'critical'].map((severity) => raiseSeverity(severity as never))).toEqual(['low', 'medium', 'high', 'critical', 'critical']);
  });
});

describe('client inventory: reload', () => {
  let source: InventorySource | undefined;
  afterEach(() => source?.close());

  it('reloads a changed file, keeps the last good one on a bad edit (one error line, a metric), and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-inventory-'));
    const path = join(dir, 'clients.csv');
    writeFileSync(path, `${HEADER}\nacme,svc-a,A,alice,Payments,,,\n`);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString('utf8')), done()) }));
    const registry = new Registry();
    const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
    source = await watchInventory({ path, logger, registry, pollMs: 20 });
    expect(source.current().get('acme', 'svc-a')?.owner).toBe('alice');

    writeFileSync(path, `${HEADER}\nacme,svc-a,A,bob,Payments,,,\nacme,svc-b,B,carol,Data,,,\n`);
    await waitFor(() => source!.current().size, (size) => size === 2, { what: 'the edited inventory (2 clients)', timeoutMs: 10_000, intervalMs: 20 });
    expect(source.current().get('acme', 'svc-a')?.owner).toBe('bob');
    expect(await metric('tokenwatch_inventory_reloads_total')).toBe(1);

    writeFileSync(path, `${HEADER}\nacme,svc-a,A,bob,Payments,,urgent,\n`);
    await waitFor(() => metric('tokenwatch_inventory_reload_errors_total'), (count) => count === 1, { what: 'the refused edit counted', timeoutMs: 10_000, intervalMs: 20 });
    expect(source.current().size).toBe(2);
    const errors = lines.filter((line) => line.includes('"level":50'));
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ msg: 'client inventory not reloaded: keeping the last good one', err: expect.stringContaining('line 2 (client_id "svc-a"): criticality') });

    writeFileSync(path, `${HEADER}\nacme,svc-c,C,dave,Ops,,,\n`);
    await waitFor(() => source!.current().get('acme', 'svc-c')?.owner, (owner) => owner === 'dave', { what: 'the fixed inventory', timeoutMs: 10_000, intervalMs: 20 });
    expect(source.current().size).toBe(1);
    expect(await metric('tokenwatch_inventory_clients')).toBe(1);
  });
});
