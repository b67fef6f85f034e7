import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifier } from '@tokenwatch/notifier';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import type { DetectContext } from '@tokenwatch/detector/detector';
import { runTick } from '@tokenwatch/detector/engine';
import { startDetector } from '@tokenwatch/detector';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { unknownClient } from '@tokenwatch/detector/detectors/unknown-client/index';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { parseInventory, type Inventory } from '@tokenwatch/shared/inventory/inventory';
import { watchInventory } from '@tokenwatch/shared/inventory/watch';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { openClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { runCli } from '../helpers/cli.js';
import { assertionRequest } from '../helpers/events.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';
import { startSlackStub, type SlackStub } from '../helpers/slack-stub.js';
import { storeEvents, TEST_RETENTION_DAYS } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait.js';

// The client inventory end to end on the real engine: alerts raised by real detectors carry
// the owner and a critical client's raised severity; unknown_client fires once for a client
// the complete inventory lacks; the notifier routes through a Slack stub by the client's
// channel (critical also to the default one); `tokenwatch clients` and `alerts --json` show
// the inventory beside what the logs prove; a bad inventory stops a command with one line.

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const TOKEN = 'xoxb-1111-2222-InventoryTestToken0123456789';
const DEFAULT_CHANNEL = 'C0DEFAULT';
const PAYMENTS_CHANNEL = 'C0PAYMENTS';
const REPORTS_CHANNEL = 'C0REPORTS';

const INVENTORY_CSV = [
  'tenant,client_id,name,owner,team,slack_channel,criticality,tags',
  `acme,svc-payments,Payments API,alice@example.com,Payments,${PAYMENTS_CHANNEL},critical,pci;prod`,
  `acme,svc-reports,Reports,bob@example.com,Data,${REPORTS_CHANNEL},low,`,
  'acme,svc-quiet,Quiet,carol@example.com,Ops,,medium,',
].join('\n');

/** One assertion-authenticated request with its client's key; `at` in seconds after T0. */
const request = (id: string, client: string, jti: string, at: number, extra: Partial<TokenRequestInput> = {}): TokenRequestInput =>
  assertionRequest(id, client, jti, T0 + at * 1000, { credential_id: `${client}-key-1`, ...extra });

/** A replay the IdP refused, from the same network: jti_replay says high. */
const refusedReplay = (client: string, at: number) => [
  request(`${client}-r-a`, client, `jti-${client}`, at),
  request(`${client}-r-b`, client, `jti-${client}`, at + 30, { outcome: 'failure', error_code: 'invalid_client' }),
];

describe('client inventory (real chDB, Slack stub, CLI)', () => {
  const env = testEnv('inventory');
  const inventoryPath = join(env.TOKENWATCH_DATA_DIR!, '..', `inventory-${process.pid}-${Date.now()}.csv`);
  let clickhouse: ClickHouse | undefined;
  let inventory: Inventory;
  let context: DetectContext;
  let raised: StoredAlert[];

  const alertOf = (finding: string, client: string) => raised.find((alert) => alert.finding === finding && alert.client_id === client);

  beforeAll(async () => {
    writeFileSync(inventoryPath, INVENTORY_CSV);
    clickhouse = await openClickHouse(settingsFrom(env));
    await migrate(clickhouse.client, { retention_days: TEST_RETENTION_DAYS });
    inventory = parseInventory(Buffer.from(INVENTORY_CSV), inventoryPath, { requireComplete: true });
    context = {
      clickhouse: clickhouse.client,
      config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors,
      logger: createLogger('silent'),
      inventory,
    };
    await storeEvents(clickhouse, [
      ...refusedReplay('svc-payments', 0),
      ...refusedReplay('svc-reports', 100),
      ...refusedReplay('svc-ghost', 200),
      request('shadow-1', 'svc-shadow', 'jti-shadow-1', 300, { source_ip: '198.51.100.7', credential_id: 'shadow-secret', auth_method: 'client_secret_basic', assertion: undefined }),
      request('shadow-2', 'svc-shadow', 'jti-shadow-2', 310, { source_ip: '198.51.100.7', credential_id: 'shadow-secret', auth_method: 'client_secret_basic', assertion: undefined }),
      // Tried but never minted a token: not a shadow identity (yet).
      request('probe-1', 'svc-probe', 'jti-probe', 320, { outcome: 'failure', error_code: 'invalid_client' }),
    ]);
    raised = [...(await runTick(context, jtiReplay, Date.now())).raised, ...(await runTick(context, unknownClient, Date.now())).raised];
  }, 180_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('stamps the owner on stored alerts and raises a critical client one severity step, keeping the detector severity', () => {
    expect(alertOf('jti_replay', 'svc-payments')).toMatchObject({
      severity: 'critical',
      detector_severity: 'high',
      owner: 'alice@example.com',
      team: 'Payments',
      slack_channel: PAYMENTS_CHANNEL,
      criticality: 'critical',
    });
    expect(alertOf('jti_replay', 'svc-reports')).toMatchObject({ severity: 'high', detector_severity: 'high', owner: 'bob@example.com', criticality: 'low' });
    expect(alertOf('jti_replay', 'svc-ghost')).toMatchObject({ severity: 'high', detector_severity: 'high', owner: '', slack_channel: '', criticality: '' });
  });

  it('raises unknown_client (low) for each client that minted tokens without an entry, and only those', () => {
    const unknown = raised.filter((alert) => alert.finding === 'unknown_client');
    expect(unknown.map((alert) => alert.client_id).sort()).toEqual(['svc-ghost', 'svc-shadow']);
    expect(alertOf('unknown_client', 'svc-shadow')).toMatchObject({
      severity: 'low',
      event_count: 2,
      evidence: { auth_methods: ['client_secret_basic'], credential_ids: ['shadow-secret'], source_ips: ['198.51.100.7'], inventory_clients: 3, first_request: new Date(T0 + 300_000).toISOString() },
    });
  });

  it('raises unknown_client once per client: later traffic of the same shadow client changes nothing', async () => {
    await storeEvents(clickhouse!, [request('shadow-3', 'svc-shadow', 'jti-shadow-3', 900, { source_ip: '198.51.100.8' })]);
    const next = await runTick(context, unknownClient, Date.now());
    expect(next.until).toBeGreaterThan(next.from);
    expect([...next.raised, ...next.updated]).toEqual([]);
  });

  it('raises nothing when the inventory does not say it is complete', async () => {
    const partial = { ...context, inventory: parseInventory(Buffer.from(INVENTORY_CSV), inventoryPath) };
    await storeEvents(clickhouse!, [request('stray-1', 'svc-stray', 'jti-stray', 950)]);
    const tick = await runTick(partial, unknownClient, Date.now());
    expect(tick.until).toBeGreaterThan(tick.from);
    expect(tick.raised).toEqual([]);
  });

  it('routes through Slack: the client channel, a critical alert also to the default channel, an unlisted client to the default channel', async () => {
    const stub: SlackStub = await startSlackStub({ token: TOKEN });
    try {
      const settings = settingsFrom({ ...env, SLACK_BOT_TOKEN: TOKEN, SLACK_CHANNEL: DEFAULT_CHANNEL, SLACK_API_URL: stub.url });
      const config = parseConfig({ notify: { poll_interval_ms: 50, slack: { min_interval_ms: 0, lookup_delay_ms: 0 } } }, 'test');
      const deliver = async () => {
        const notifier = await startNotifier({ settings, config, logger: createLogger('silent'), clickhouse: clickhouse!.client, registry: new Registry(), poll: false });
        try {
          await notifier.runOnce();
        } finally {
          await notifier.stop();
        }
      };
      await deliver();
      const ids = (channel: string) => stub.roots(channel).map((message) => message.metadata?.event_payload.alert_id).sort();
      const payments = alertOf('jti_replay', 'svc-payments')!.alert_id;
      expect(ids(PAYMENTS_CHANNEL)).toEqual([payments]);
      expect(ids(REPORTS_CHANNEL)).toEqual([alertOf('jti_replay', 'svc-reports')!.alert_id]);
      expect(ids(DEFAULT_CHANNEL)).toEqual(
        [payments, alertOf('jti_replay', 'svc-ghost')!.alert_id, alertOf('unknown_client', 'svc-ghost')!.alert_id, alertOf('unknown_client', 'svc-shadow')!.alert_id].sort(),
      );
      // The owner is in the message, and the raise says why.
      const root = stub.roots(PAYMENTS_CHANNEL)[0]!;
      expect(JSON.stringify(root.blocks)).toContain('*Owner*\\nalice@example.com · Payments');
      expect(JSON.stringify(root.blocks)).toContain('critical (raised from high: critical client)');
      expect(root.text).toContain('owner alice@example.com · Payments');

      // Each copy is delivered once: nothing is posted again.
      const posted = stub.messages.length;
      await deliver();
      expect(stub.messages.length).toBe(posted);
    } finally {
      await stub.close();
    }
  });

  it('the scheduled detector uses a reloaded inventory from its next tick', async () => {
    const path = `${inventoryPath}.live.yaml`;
    const listed = (clients: string[]) => `require: true\nclients:\n${clients.map((client) => `  - { tenant: acme, client_id: ${client} }\n`).join('')}`;
    writeFileSync(path, listed(['svc-payments']));
    const logger = createLogger('silent');
    const source = await watchInventory({ path, logger, registry: new Registry(), pollMs: 50 });
    // A schedule that never comes: the test ticks by hand.
    const config = parseConfig({ detectors: { safety_lag_seconds: 0, schedule: '0 0 0 1 1 *' } }, 'test').detectors;
    const detector = startDetector({ config, logger, clickhouse: clickhouse!.client, registry: new Registry(), detectors: [unknownClient], inventory: source });
    try {
      await storeEvents(clickhouse!, [request('live-1', 'svc-live-a', 'jti-live-1', 1000)]);
      const [first] = await detector.tick();
      expect(first?.raised.map((alert) => alert.client_id)).toEqual(['svc-live-a']);

      writeFileSync(path, listed(['svc-payments', 'svc-live-b']));
      await waitFor(() => source.current().get('acme', 'svc-live-b'), (entry) => entry !== undefined, { what: 'svc-live-b in the reloaded inventory', timeoutMs: 10_000, intervalMs: 50 });
      await storeEvents(clickhouse!, [request('live-2', 'svc-live-b', 'jti-live-2', 1010), request('live-3', 'svc-live-c', 'jti-live-3', 1020)]);
      const [second] = await detector.tick();
      expect(second?.raised.map((alert) => alert.client_id)).toEqual(['svc-live-c']);
    } finally {
      await detector.stop();
      source.close();
    }
  });

  describe('commands (after this process lets go of the data directory)', () => {
    const cliEnv = () => ({ ...env, TOKENWATCH_INVENTORY: inventoryPath });

    beforeAll(async () => {
      await clickhouse?.close();
      clickhouse = undefined;
    });

    it('`tokenwatch clients --json` lists every client the logs show, with the inventory owner or null', async () => {
      const result = await runCli(['clients', '--json'], cliEnv());
      expect(result.code, result.stderr).toBe(0);
      const clients = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(clients.map((client) => client.client_id)).toEqual(['svc-ghost', 'svc-live-a', 'svc-live-b', 'svc-live-c', 'svc-payments', 'svc-probe', 'svc-reports', 'svc-shadow', 'svc-stray']);
      const shadow = clients.find((client) => client.client_id === 'svc-shadow');
      expect(shadow).toEqual({
        tenant: 'acme',
        client_id: 'svc-shadow',
        name: 'svc-shadow service',
        first_request: new Date(T0 + 300_000).toISOString(),
        last_request: new Date(T0 + 900_000).toISOString(),
        requests: 3,
        failed_requests: 0,
        auth_methods: ['client_secret_basic', 'private_key_jwt'],
        credential_ids: ['shadow-secret', 'svc-shadow-key-1'],
        network_count: 1,
        networks: ['198.51.100.0/24'],
        countries: ['US'],
        inventory: null,
      });
      expect(clients.find((client) => client.client_id === 'svc-payments')).toMatchObject({
        requests: 2,
        failed_requests: 1,
        inventory: { owner: 'alice@example.com', team: 'Payments', slack_channel: PAYMENTS_CHANNEL, criticality: 'critical', tags: ['pci', 'prod'] },
      });
      expect(result.stderr.trim()).toBe('9 clients, 7 not in the inventory');
    });

    it('`tokenwatch clients` pages with --limit and the --after cursor it prints', async () => {
      const first = await runCli(['clients', '--limit', '7'], cliEnv());
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('svc-payments (svc-payments service), tenant acme: owner alice@example.com · Payments, criticality critical');
      expect(first.stdout).toContain('svc-ghost (svc-ghost service), tenant acme: NOT IN THE INVENTORY');
      const cursor = /--after (\S+)/.exec(first.stderr)?.[1];
      expect(cursor, first.stderr).toBeDefined();
      const next = await runCli(['clients', '--json', '--after', cursor!], cliEnv());
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { client_id: string }).client_id)).toEqual(['svc-shadow', 'svc-stray']);
      expect(next.stderr.trim()).toBe('2 clients, 2 not in the inventory');
    });

    it('`tokenwatch alerts --json` shows the owner, team and raised severity stored with the alert', async () => {
      const result = await runCli(['alerts', '--json'], cliEnv());
      expect(result.code, result.stderr).toBe(0);
      const alerts = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as StoredAlert);
      expect(alerts.find((alert) => alert.finding === 'jti_replay' && alert.client_id === 'svc-payments')).toMatchObject({
        severity: 'critical',
        detector_severity: 'high',
        owner: 'alice@example.com',
        team: 'Payments',
        criticality: 'critical',
      });
      const text = await runCli(['alerts'], cliEnv());
      expect(text.stdout).toContain('owner: alice@example.com · Payments; severity raised from high: critical client');
    });

    it('a bad inventory stops `clients` and `start` with one line naming the row', async () => {
      const bad = `${inventoryPath}.bad.csv`;
      writeFileSync(bad, `${INVENTORY_CSV}\nacme,svc-new,New,dan,Ops,,urgent,`);
      const expected = `tokenwatch: invalid inventory ${bad}: line 5 (client_id "svc-new"): criticality: expected one of low, medium, high, critical`;
      const clients = await runCli(['clients'], { ...env, TOKENWATCH_INVENTORY: bad });
      expect(clients.code).toBe(1);
      expect(clients.stderr.trim().split('\n')).toEqual([expected]);
      const start = await runCli(['start'], { ...env, TOKENWATCH_INVENTORY: bad, TOKENWATCH_HTTP_PORT: 'off' });
      expect(start.code).toBe(1);
      expect(start.stderr.trim().split('\n').filter((line) => line.startsWith('tokenwatch:'))).toEqual([expected]);
    });
  });
});
