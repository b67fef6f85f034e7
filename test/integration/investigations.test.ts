import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { mergeDrafts, upsertAlerts } from '@tokenwatch/detector/alerts-store';
import { backtest } from '@tokenwatch/detector/engine';
import { FINDINGS } from '@tokenwatch/detector/findings';
import { createDetectors } from '@tokenwatch/detector/registry';
import { parseIndicators } from '@tokenwatch/detector/sweep/indicators';
import { iocMatchDrafts, sweep } from '@tokenwatch/detector/sweep/sweep';
import { addWatch } from '@tokenwatch/detector/watch/watch-list';
import { createLogger } from '@tokenwatch/shared/log';
import { text as streamText } from 'node:stream/consumers';
import { runReadOnlyQuery } from '@tokenwatch/server/query-server/read-only-query';
import type { AttackKind, AttackLabel } from '@tokenwatch/simulator/index';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { storeSimulation } from '../helpers/simulation.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Keeps docs/investigations.md and the runbooks in docs/detectors.md from rotting: every
// ```sql block in them runs, through the read-only path `tokenwatch sql` uses, against an
// embedded ClickHouse holding ten days of simulated traffic (60 clients, one attack of each
// kind, IdP-native records through the real decoders and enrichment) that ends at the current
// hour, so the docs' `now() - INTERVAL ...` windows see it. The detectors are backtested over
// the attack days and their alerts stored (as `detect --once --from ... --store` does), so the
// runbook queries, which start from an alert's fingerprint, have alerts to start from.

const HOUR = 3_600_000;
const DAY = 86_400_000;
const DAYS = 10;
const END = Math.floor(Date.now() / HOUR) * HOUR;
const START = END - DAYS * DAY;
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

interface SqlBlock {
  readonly file: string;
  /** The `##` section the block is in (a finding's name in docs/detectors.md). */
  readonly section: string;
  /** The nearest heading above the block. */
  readonly heading: string;
  readonly sql: string;
}

/** Every fenced block of a language in a markdown file, with the headings above it. */
function fencedBlocks(file: string, language: string): SqlBlock[] {
  const text = readFileSync(`${DOCS}${file}`, 'utf8');
  const blocks: SqlBlock[] = [];
  let section = '';
  let heading = '';
  const pattern = new RegExp(`^(#{2,6}) (.+)$|^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    if (match[1] !== undefined) {
      heading = match[2]!.trim();
      if (match[1] === '##') section = heading;
    } else {
      blocks.push({ file, section, heading, sql: match[3]! });
    }
  }
  return blocks;
}

/** `{name:Type}` parameters a query uses. */
const parametersOf = (sql: string) => [...new Set([...sql.matchAll(/\{(\w+):[^}]+\}/g)].map((match) => match[1]!))];

type Row = Record<string, unknown>;

/**
 * What each investigations.md query must return on the simulated data: `rows` when an
 * injected attack or the population guarantees at least one row (optionally a check on them),
 * `runs` when nothing guarantees a row. A heading missing here fails the test, so a new query
 * gets an explicit expectation.
 */
type Expectation = { readonly kind: 'rows'; readonly check?: (rows: Row[], world: World) => void } | { readonly kind: 'runs' };

interface World {
  readonly labels: readonly AttackLabel[];
  readonly label: (kind: AttackKind) => AttackLabel;
  readonly jti: string;
}

const hasClient = (rows: Row[], label: AttackLabel) =>
  expect(rows.map((row) => `${String(row.tenant)}/${String(row.client_id)}`)).toContain(`${label.tenant}/${label.client_id}`);

const INVESTIGATIONS: Record<string, Expectation> = {
  'Everything a client did in the last 24 hours': { kind: 'rows' },
  'Every request of a client in the last 24 hours': { kind: 'rows' },
  'The vendor record behind an event': { kind: 'rows' },
  'Where and when a jti was used': { kind: 'rows', check: (rows) => expect(rows.length).toBeGreaterThanOrEqual(2) },
  'How often a jti was used (from the rollup)': { kind: 'rows', check: (rows) => expect(Number(rows[0]?.uses)).toBeGreaterThanOrEqual(2) },
  'Assertion hygiene per client this week (NHI4)': { kind: 'rows' },
  'Which clients still authenticate with secrets, and from where': { kind: 'rows' },
  'New locations this week': { kind: 'rows', check: (rows, world) => hasClient(rows, world.label('secret_new_country')) },
  'One credential used from two places at once (NHI2)': { kind: 'rows', check: (rows, world) => hasClient(rows, world.label('replay_accepted')) },
  'Which credentials are in use, and since when (NHI7)': { kind: 'rows' },
  // Attackers and CI jobs pick their user agents at random: nothing guarantees a browser or curl.
  'Machine clients used by people (NHI10)': { kind: 'runs' },
  'Top minting clients against their baselines': { kind: 'rows' },
  'Failure spikes by error code': { kind: 'rows', check: (rows, world) => hasClient(rows, world.label('invalid_client_burst')) },
  // CI clients skip weekends: with dormant_days=1 their Monday is a wake-up.
  'Dormant clients that woke up (NHI1)': { kind: 'rows' },
  'The alert list': { kind: 'rows' },
  'The requests behind an alert': { kind: 'rows' },
  // No notifier runs in this test, so the ledger is empty.
  "An alert's notifications": { kind: 'runs' },
  'Alerts that were never delivered': { kind: 'rows' },
};

/** Runbook sections whose queries start from an alert of another finding with the same evidence shape. */
const RUNBOOK_ALERT_OF: Record<string, string> = {
  // The simulator injects no cross-client jti; a jti_replay alert carries the same evidence.jti.
  jti_cross_client: 'jti_replay',
  // No inventory here, so no unknown_client alert; its runbook needs only the alert's tenant and client.
  unknown_client: 'secret_new_location',
  // The simulator rotates every credential within 90 days, so no stale_credential alert; its
  // runbook needs only the alert's tenant and client, which a new_credential alert names too.
  stale_credential: 'new_credential',
};

describe('the SQL in docs/investigations.md and the runbooks in docs/detectors.md', () => {
  let clickhouse: ClickHouse;
  let readOnly: ClickHouse;
  let dataDir: string;
  let alerts: StoredAlert[];
  let world: World;
  let events = 0;
  let closed = false;

  beforeAll(async () => {
    const settings = settingsFrom(testEnv('investigations'));
    dataDir = settings.TOKENWATCH_DATA_DIR;
    clickhouse = await openClickHouse(settings);
    await migrate(clickhouse.client, { retention_days: 7_300 });
    const simulation = await storeSimulation(clickhouse, { seed: 1, start: START, days: DAYS, clients: 60, attacks: 'all', attacksPerKind: 1 });
    events = simulation.events;

    // Attacks start after 8 days of history: backtest the last 3 days only (the rollups give
    // the detectors the older history). Assertions over 1 minute count as long-lived here, so
    // the tap's clients (2-5 minute assertions) raise assertion_hygiene alerts for its runbook.
    // A watch on the client of the new-country attack (watched_credential's runbook), and a
    // sweep for that attack's address (ioc_match's).
    const leaked = simulation.labels.find((candidate) => candidate.kind === 'secret_new_country')!;
    await addWatch(clickhouse.client, { tenant: leaked.tenant, client_id: leaked.client_id, since: START, reason: 'test: runbook', added_by: 'test' });
    const [attacker] = await (
      await clickhouse.client.query({
        query: "SELECT replaceRegexpOne(toString(source_ip), '^::ffff:', '') AS ip FROM token_requests WHERE event_id = {id:String}",
        query_params: { id: leaked.event_ids.at(-1) },
        format: 'JSONEachRow',
      })
    ).json<{ ip: string }>();
    const read = async (sql: string, params: Record<string, unknown>) => (await clickhouse.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json();
    const indicators = parseIndicators(attacker!.ip);
    const iocAlerts = iocMatchDrafts(await sweep(read, indicators, { from: START, to: END + DAY }), { from: START, to: END + DAY }, indicators.count);

    const config = parseConfig({ detectors: { jti_replay: { hygiene: { max_lifetime_minutes: 1 } } } }, 'test').detectors;
    const context = { clickhouse: clickhouse.client, config, logger: createLogger('silent') };
    const found: StoredAlert[] = [];
    for (const detector of createDetectors()) found.push(...(await backtest(context, detector, { from: END - 3 * DAY, to: END })));
    // ioc_match alerts come from `tokenwatch sweep --alert`, stored the same way.
    const iocStored = mergeDrafts(iocAlerts, Date.now());
    await upsertAlerts(clickhouse.client, [...found, ...iocStored], Date.now());
    alerts = [...found, ...iocStored];

    // The path `tokenwatch sql` takes: its own read-only connection to the data directory.
    readOnly = await openClickHouse(settings, { readOnly: true });
    const labels = simulation.labels;
    const label = (kind: AttackKind) => {
      const found = labels.find((candidate) => candidate.kind === kind);
      if (!found) throw new Error(`no ${kind} label`);
      return found;
    };
    const replay = label('replay_accepted');
    const [reused] = await query(
      `SELECT assertion_jti AS jti FROM token_requests
       WHERE tenant = {tenant:String} AND client_id = {client_id:String} AND assertion_jti != ''
       GROUP BY jti HAVING uniqExact(event_id) > 1 LIMIT 1`,
      { tenant: replay.tenant, client_id: replay.client_id },
    );
    world = { labels, label, jti: String(reused?.jti ?? '') };
  }, 300_000);

  afterAll(async () => {
    if (closed) return;
    await readOnly?.close();
    await clickhouse?.close();
  });

  async function query(sql: string, params: Record<string, string>): Promise<Row[]> {
    const text = await streamText(await runReadOnlyQuery(readOnly, { query: sql, format: 'JSONEachRow', params }));
    return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Row);
  }

  /** Only the parameters the query names; an unknown one fails with the block's heading. */
  function paramsFor(block: SqlBlock, values: Record<string, string>): Record<string, string> {
    const params: Record<string, string> = {};
    for (const name of parametersOf(block.sql)) {
      const value = values[name];
      if (value === undefined) throw new Error(`${block.file} "${block.heading}" uses {${name}:...}, which this test has no value for`);
      params[name] = value;
    }
    return params;
  }

  it('stores the simulated traffic and an alert for every injected attack', () => {
    expect(events).toBeGreaterThan(100_000);
    expect(world.jti).not.toBe('');
    const findings = new Set(alerts.map((alert) => alert.finding));
    for (const finding of ['jti_replay', 'assertion_hygiene', 'mint_volume', 'invalid_client_burst', 'secret_new_location', 'dormant_client', 'watched_credential', 'ioc_match', 'concurrent_networks']) {
      expect(findings, `an alert of ${finding}`).toContain(finding);
    }
  });

  it('runs every query in docs/investigations.md, with rows where the simulation guarantees them', async () => {
    const blocks = fencedBlocks('investigations.md', 'sql');
    expect(blocks.length).toBeGreaterThanOrEqual(15);
    expect(blocks.map((block) => block.heading).filter((heading) => !(heading in INVESTIGATIONS)), 'headings without an expectation').toEqual([]);
    const client = world.label('mint_burst');
    const alert = alerts.find((candidate) => candidate.finding === 'secret_new_location')!;
    const values = {
      tenant: client.tenant,
      client_id: client.client_id,
      jti: world.jti,
      alert_id: alert.alert_id,
      event_id: alert.event_ids[0]!,
      dormant_days: '1',
    };
    const failures: string[] = [];
    for (const block of blocks) {
      const expectation = INVESTIGATIONS[block.heading]!;
      try {
        const rows = await query(block.sql, paramsFor(block, values));
        if (expectation.kind === 'rows') {
          expect(rows.length, 'rows').toBeGreaterThan(0);
          expectation.check?.(rows, world);
        }
      } catch (error) {
        failures.push(`"${block.heading}": ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('runs every runbook query in docs/detectors.md on an alert of its finding, with rows', async () => {
    const blocks = fencedBlocks('detectors.md', 'sql');
    const findings = FINDINGS.names;
    // Every finding has a section whose heading is exactly its name (the Slack runbook anchor) and runbook SQL.
    const sections = new Set(blocks.map((block) => block.section));
    expect(findings.filter((finding) => !sections.has(finding)), 'findings without runbook SQL').toEqual([]);
    const failures: string[] = [];
    for (const block of blocks) {
      const finding = findings.includes(block.section) ? (RUNBOOK_ALERT_OF[block.section] ?? block.section) : undefined;
      const alert = finding ? alerts.find((candidate) => candidate.finding === finding) : alerts[0];
      try {
        if (!alert) throw new Error(`no ${finding} alert to start from`);
        const rows = await query(block.sql, paramsFor(block, { alert_id: alert.alert_id }));
        expect(rows.length, 'rows').toBeGreaterThan(0);
      } catch (error) {
        failures.push(`${block.section} / "${block.heading}": ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    expect(failures).toEqual([]);
  });

  it('has a heading per finding whose anchor is exactly the finding name', () => {
    const headings = readFileSync(`${DOCS}detectors.md`, 'utf8').match(/^## .+$/gm) ?? [];
    for (const finding of FINDINGS.names) expect(headings).toContain(`## ${finding}`);
  });

  it('documents a configuration the loader accepts, with the defaults it states', () => {
    const yamlBlocks = fencedBlocks('detectors.md', 'yaml');
    const example = yamlBlocks.find((block) => block.section === 'Configuration');
    const snippets = yamlBlocks.filter((block) => block !== example);
    expect(example, 'the example configuration under ## Configuration').toBeDefined();
    const parsed = parseConfig(parseYaml(example!.sql), 'docs/detectors.md').detectors;
    const defaults = parseConfig({}, 'defaults').detectors;
    expect({ ...parsed, overrides: [], allowlist: [] }).toEqual(defaults);
    expect(parsed.overrides.length).toBeGreaterThan(0);
    expect(parsed.allowlist.length).toBeGreaterThan(0);
    for (const snippet of snippets) expect(() => parseConfig(parseYaml(snippet.sql), 'docs/detectors.md')).not.toThrow();
    expect(() => parseConfig({ detectors: { mint_volume: { min_cnt: 5 } } }, 'tokenwatch.yaml')).toThrow(
      'invalid configuration in tokenwatch.yaml at detectors.mint_volume.min_cnt: Unrecognized key: "min_cnt"',
    );
  });

  it('runs a documented query through `tokenwatch sql --param`', async () => {
    // The CLI opens the data directory itself: release this process's hold first.
    closed = true;
    await readOnly.close();
    await clickhouse.close();
    const [block] = fencedBlocks('investigations.md', 'sql').filter((candidate) => candidate.heading === 'Where and when a jti was used');
    const env = testEnv('investigations-cli', { TOKENWATCH_DATA_DIR: dataDir });
    const result = await runCli(['sql', '--param', `jti=${world.jti}`, block!.sql], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Row);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((row) => row.client_id === world.label('replay_accepted').client_id)).toBe(true);
    const bad = await runCli(['sql', '--param', 'jti', block!.sql], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid --param "jti": expected name=value');
  });
});
