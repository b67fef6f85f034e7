import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadSettings } from '@tokenwatch/shared/config/settings';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { ClusterDdlError, clusterMigrations, type ClusterTarget } from '@tokenwatch/shared/storage/cluster-ddl';
import { loadMigrations, plannedMigrations, type Migration } from '@tokenwatch/shared/storage/migrate';
import { queryRows } from '@tokenwatch/shared/storage/sql';
import { runCli } from '../helpers/cli.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// Cluster mode cannot run here (no ClickHouse server, no Keeper): every statement it generates
// is parsed by ClickHouse's own parser instead (chDB embeds it: formatQuerySingleLine parses
// without executing, and refuses what does not parse), and the parsed, normalised text is
// checked for the properties cluster mode promises. Every migration file is transformed, so a
// migration added later is checked by this file without a change to it.

const TARGET: ClusterTarget = { cluster: 'tokenwatch_cluster', database: 'tokenwatch' };
const formattedRow = z.object({ formatted: z.string() });

/** The single-node MergeTree tables of the migrations, with their engine and sort key. */
function mergeTreeTables(migrations: readonly Migration[]): { name: string; engine: string; engineArgs: string; orderBy: string }[] {
  return migrations.flatMap((migration) =>
    migration.statements.flatMap((statement) => {
      const create = /^CREATE TABLE (?:IF NOT EXISTS )?(\w+)/.exec(statement);
      const engine = /\bENGINE = (\w*MergeTree)(?:\(([^)]*)\))?/.exec(statement);
      const orderBy = /\bORDER BY (\([^)]*\)|\w+)/.exec(statement);
      return create?.[1] && engine?.[1] && orderBy?.[1] ? [{ name: create[1], engine: engine[1], engineArgs: engine[2] ?? '', orderBy: orderBy[1] }] : [];
    }),
  );
}

describe('cluster DDL (TOKENWATCH_CLICKHOUSE_CLUSTER), checked by ClickHouse\'s parser', () => {
  let clickhouse: ClickHouse;
  const single = plannedMigrations(loadMigrations());
  const cluster = plannedMigrations(loadMigrations(), { cluster: TARGET });
  /** Every cluster statement as ClickHouse parsed and formatted it, on one line. */
  const parsed: string[] = [];

  beforeAll(async () => {
    clickhouse = await openClickHouse(settingsFrom(testEnv('cluster-ddl')));
    for (const migration of cluster) {
      for (const statement of migration.statements) {
        const [row] = await queryRows(clickhouse.client, 'SELECT formatQuerySingleLine({statement:String}) AS formatted', { statement }, formattedRow);
        parsed.push(row?.formatted ?? '');
      }
    }
  }, 60_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('the parser refuses a statement that does not parse (so the check below can fail)', async () => {
    await expect(
      queryRows(clickhouse.client, 'SELECT formatQuerySingleLine({statement:String}) AS formatted', { statement: "CREATE TABLE t_local ON CLUSTER 'c' (a String" }, formattedRow),
    ).rejects.toThrow(/Syntax error/);
  });

  it('transforms every migration file, and every statement parses', () => {
    expect(cluster.map((migration) => migration.name)).toEqual(single.map((migration) => migration.name));
    expect(parsed.length).toBeGreaterThan(single.flatMap((migration) => migration.statements).length);
    expect(parsed.every((statement) => statement.length > 0)).toBe(true);
  });

  it('runs every DDL statement ON CLUSTER; only back-fills run once, in the foreground', () => {
    for (const statement of parsed) {
      if (statement.startsWith('INSERT INTO ')) {
        expect(statement).toMatch(/^INSERT INTO \w+ (\([\w, ]+\) )?SETTINGS distributed_foreground_insert = 1 SELECT /);
        expect(statement).not.toMatch(/\w+_local\b/);
      } else {
        expect(statement).toMatch(/^(CREATE TABLE|CREATE MATERIALIZED VIEW|ALTER TABLE|DROP VIEW) (IF (NOT )?EXISTS )?\w+ ON CLUSTER tokenwatch_cluster\b/);
      }
    }
  });

  it('makes every MergeTree table Replicated with the {shard}/{replica} macros, keeping its engine parameters', () => {
    const tables = mergeTreeTables(single);
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['schema_migrations', 'token_requests', 'alerts', 'client_minute_counts', 'jti_uses']));
    for (const { name, engine, engineArgs } of tables) {
      const create = parsed.find((statement) => statement.startsWith(`CREATE TABLE IF NOT EXISTS ${name}_local ON CLUSTER tokenwatch_cluster (`));
      const args = [`'/clickhouse/tables/{shard}/{database}/${name}'`, `'{replica}'`, ...(engineArgs ? [engineArgs] : [])].join(', ');
      expect(create, name).toContain(` ENGINE = Replicated${engine}(${args})`);
    }
    expect(parsed.filter((statement) => /ENGINE = (?!Replicated)\w*MergeTree/.test(statement))).toEqual([]);
    // Replicated engines deduplicate inserts by their replicated window; the single-node one is gone.
    expect(parsed.join('\n')).not.toContain('non_replicated_deduplication_window');
    expect(parsed.find((statement) => statement.includes('token_requests_local ON CLUSTER') && statement.startsWith('CREATE'))).toContain('replicated_deduplication_window = 1000');
  });

  it('puts a Distributed table of the original name in front of each, sharded so one client stays on one shard', () => {
    for (const { name, orderBy } of mergeTreeTables(single)) {
      const distributed = parsed.find((statement) => statement.startsWith(`CREATE TABLE IF NOT EXISTS ${name} ON CLUSTER tokenwatch_cluster AS ${name}_local ENGINE = Distributed(`));
      expect(distributed, name).toMatch(new RegExp(`ENGINE = Distributed\\('tokenwatch_cluster', 'tokenwatch', '${name}_local', .+\\)$`));
      const byClient = /\btenant\b/.test(orderBy) && /\bclient_id\b/.test(orderBy);
      if (byClient) expect(distributed, name).toContain('cityHash64(tenant, client_id))');
    }
    const key = (table: string) => /Distributed\('tokenwatch_cluster', 'tokenwatch', '\w+', (.+)\)$/.exec(parsed.find((statement) => statement.includes(`AS ${table}_local ENGINE = Distributed`)) ?? '')?.[1];
    expect(key('token_requests')).toBe('cityHash64(tenant, client_id)');
    expect(key('client_locations')).toBe('cityHash64(tenant, client_id)');
    // Rows that one ReplacingMergeTree version key collapses share a shard.
    expect(key('alerts')).toBe('cityHash64(alert_id)');
    // jti_uses rows sit on the shard of the client whose request the view rolled up, which no
    // key on its own columns says: rand() keeps ClickHouse from skipping the cross-shard merge.
    expect(key('jti_uses')).toBe('rand()');
    expect(key('jti_use_hours')).toBe('rand()');
  });

  it('has every view on a sharded table read and write shard-local tables; the input view writes the Distributed table', () => {
    const views = parsed.filter((statement) => statement.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views.length).toBeGreaterThanOrEqual(5);
    for (const view of views) {
      const target = /\bTO (\w+)/.exec(view)?.[1] ?? '';
      // Tables only: ARRAY JOIN names an array expression, not a table.
      const sources = [...view.matchAll(/(?<!ARRAY )\b(?:FROM|JOIN) (\w+)/g)].map((match) => match[1] ?? '');
      if (sources.some((source) => source.endsWith('_local'))) {
        expect(target, view.slice(0, 80)).toMatch(/_local$/);
        expect(sources.every((source) => source.endsWith('_local')), view.slice(0, 80)).toBe(true);
      } else {
        expect(sources, view.slice(0, 80)).toEqual(['token_requests_input']);
        expect(target).toBe('token_requests');
      }
    }
    const rollups = views.filter((view) => view.includes('FROM token_requests_local'));
    expect(rollups.map((view) => /\bTO (\w+)/.exec(view)?.[1])).toEqual([
      'client_minute_counts_local',
      'client_locations_local',
      'jti_uses_local',
      'clients_local',
      'client_traits_local',
      'client_credentials_local',
      'credential_days_local',
      'client_asn_slots_local',
      'jti_use_hours_local',
    ]);
    // 0016 stops feeding jti_uses: its view is dropped on every node.
    expect(parsed).toContain('DROP VIEW IF EXISTS jti_uses_mv ON CLUSTER tokenwatch_cluster');
    // 0017 stops feeding every rollup by a view (the detector's tick rolls them up) and gives the
    // shard-local tables the Replicated engines' own dedup window for the refresh's retries.
    for (const view of rollups) {
      const table = (/\bTO (\w+)_local/.exec(view)?.[1]) ?? '';
      if (table === 'jti_uses') continue;
      expect(parsed).toContain(`DROP VIEW IF EXISTS ${table}_mv ON CLUSTER tokenwatch_cluster`);
      expect(parsed.filter((statement) => statement.startsWith(`ALTER TABLE ${table}_local ON CLUSTER tokenwatch_cluster `) && /\(MODIFY SETTING replicated_deduplication_window = 1000\)$/.test(statement))).toHaveLength(1);
    }
  });

  it('alters a sharded table\'s columns on the local and the Distributed table, and its view on every node', () => {
    expect(parsed).toContain("ALTER TABLE alerts_local ON CLUSTER tokenwatch_cluster (RENAME COLUMN IF EXISTS detector TO finding)");
    expect(parsed).toContain("ALTER TABLE alerts ON CLUSTER tokenwatch_cluster (RENAME COLUMN IF EXISTS detector TO finding)");
    expect(parsed.filter((statement) => /\bADD COLUMN IF NOT EXISTS `?assertion_unverified\b/.test(statement)).map((statement) => statement.split(' ')[2])).toEqual([
      'token_requests_local',
      'token_requests',
      'token_requests_input',
    ]);
    expect(parsed.find((statement) => statement.startsWith('ALTER TABLE token_requests_input_mv'))).toContain('ON CLUSTER tokenwatch_cluster');
  });

  it('leaves the single-node statements exactly as the files say', () => {
    const [bookkeeping, ...migrations] = single;
    expect(migrations).toEqual(loadMigrations());
    expect(bookkeeping?.statements).toHaveLength(1);
    expect(bookkeeping?.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS schema_migrations\s/);
  });

  it('refuses a statement it does not understand, naming the migration', () => {
    const migration = (statements: string[]): Migration[] => [
      { version: 1, name: '0001_t', statements: ['CREATE TABLE t (tenant String, client_id String, a String) ENGINE = MergeTree ORDER BY (tenant, client_id)'] },
      { version: 99, name: '0099_future', statements },
    ];
    const transform = (statements: string[]) => () => clusterMigrations(migration(statements), TARGET);
    expect(transform(['DROP TABLE t'])).toThrow(ClusterDdlError);
    expect(transform(['DROP TABLE t'])).toThrow(/^0099_future statement 1 \("DROP TABLE t"\): the cluster transform does not understand this kind of statement/);
    expect(transform(['CREATE VIEW v AS SELECT * FROM t'])).toThrow(/0099_future statement 1 .*does not understand/);
    expect(transform(['DROP VIEW IF EXISTS t'])).toThrow(/it drops t, which no earlier statement created as a materialized view/);
    expect(transform(['CREATE MATERIALIZED VIEW v TO t AS SELECT * FROM t', 'DROP VIEW v SYNC'])).toThrow(/expected nothing after the view name/);
    expect(transform(['CREATE MATERIALIZED VIEW v TO t AS SELECT * FROM t', 'DROP VIEW v', 'DROP VIEW v'])).toThrow(/statement 3 .*it drops v, which no earlier statement created/);
    expect(transform(['ALTER TABLE t ADD COLUMN b String, MODIFY TTL now()'])).toThrow(/mixes column changes/);
    expect(transform(['CREATE TABLE m (a String) ENGINE = Memory'])).toThrow(/engine Memory has no cluster form/);
    expect(transform(['CREATE TABLE r (a String) ENGINE = ReplicatedMergeTree ORDER BY a'])).toThrow(/engine ReplicatedMergeTree has no cluster form/);
    expect(transform(['CREATE MATERIALIZED VIEW v TO t AS SELECT * FROM other.t'])).toThrow(/names a database/);
    expect(transform(["ALTER TABLE t ON CLUSTER 'x' ADD COLUMN b String"])).toThrow(/already says ON CLUSTER/);
    expect(transform(['ALTER TABLE missing ADD COLUMN b String'])).toThrow(/which no earlier statement created/);
    // ...and transforms what it does understand.
    expect(clusterMigrations(migration(['ALTER TABLE t MODIFY TTL now()']), TARGET)[1]?.statements).toEqual(["ALTER TABLE t_local ON CLUSTER 'tokenwatch_cluster' MODIFY TTL now()"]);
    expect(clusterMigrations(migration(['CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT * FROM t', 'DROP VIEW IF EXISTS v']), TARGET)[1]?.statements[1]).toBe("DROP VIEW IF EXISTS v ON CLUSTER 'tokenwatch_cluster'");
  });

  it('transforms a migration written later (a new rollup, its view and back-fill) by the same rules', () => {
    const [, later] = clusterMigrations(
      [
        { version: 1, name: '0001_t', statements: ['CREATE TABLE t (tenant String, client_id String, jti String, time DateTime) ENGINE = MergeTree ORDER BY (tenant, client_id, time)'] },
        {
          version: 2,
          name: '0002_rollup',
          statements: [
            'CREATE TABLE IF NOT EXISTS per_hour (tenant String, client_id String, hour DateTime, n UInt64, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY (tenant, client_id, hour) TTL hour + toIntervalDay(1) SETTINGS non_replicated_deduplication_window = 10',
            'CREATE MATERIALIZED VIEW IF NOT EXISTS per_hour_mv TO per_hour AS SELECT tenant, client_id, toStartOfHour(time) AS hour, count() AS n, 1 AS v FROM t GROUP BY tenant, client_id, hour',
            'INSERT INTO per_hour SELECT tenant, client_id, toStartOfHour(time) AS hour, count() AS n, 1 AS v FROM t GROUP BY tenant, client_id, hour',
          ],
        },
      ],
      TARGET,
    );
    expect(later?.statements).toEqual([
      "CREATE TABLE IF NOT EXISTS per_hour_local ON CLUSTER 'tokenwatch_cluster' (tenant String, client_id String, hour DateTime, n UInt64, v UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/per_hour', '{replica}', v) ORDER BY (tenant, client_id, hour) TTL hour + toIntervalDay(1) SETTINGS replicated_deduplication_window = 10",
      "CREATE TABLE IF NOT EXISTS per_hour ON CLUSTER 'tokenwatch_cluster' AS per_hour_local\nENGINE = Distributed('tokenwatch_cluster', 'tokenwatch', 'per_hour_local', cityHash64(tenant, client_id))",
      "CREATE MATERIALIZED VIEW IF NOT EXISTS per_hour_mv ON CLUSTER 'tokenwatch_cluster' TO per_hour_local AS SELECT tenant, client_id, toStartOfHour(time) AS hour, count() AS n, 1 AS v FROM t_local GROUP BY tenant, client_id, hour",
      'INSERT INTO per_hour SETTINGS distributed_foreground_insert = 1 SELECT tenant, client_id, toStartOfHour(time) AS hour, count() AS n, 1 AS v FROM t GROUP BY tenant, client_id, hour',
    ]);
  });

  it('needs CLICKHOUSE_URL and a plain cluster name, each said in one line', () => {
    expect(() => loadSettings({ TOKENWATCH_CLICKHOUSE_CLUSTER: 'tw' })).toThrow(
      'invalid setting TOKENWATCH_CLICKHOUSE_CLUSTER: a cluster needs ClickHouse servers, set CLICKHOUSE_URL (the embedded engine is one node)',
    );
    expect(() => loadSettings({ TOKENWATCH_CLICKHOUSE_CLUSTER: "tw' SYNC", CLICKHOUSE_URL: 'http://ch:8123' })).toThrow(
      /^invalid setting TOKENWATCH_CLICKHOUSE_CLUSTER: expected a cluster name of letters, digits and _/,
    );
    expect(loadSettings({ TOKENWATCH_CLICKHOUSE_CLUSTER: 'tw', CLICKHOUSE_URL: 'http://ch:8123' }).TOKENWATCH_CLICKHOUSE_CLUSTER).toBe('tw');
  });

  it('`tokenwatch migrate --print` shows the cluster DDL without connecting anywhere', async () => {
    // Port 9 (discard) on loopback: nothing answers, so any connection attempt would fail the command.
    const env = { TOKENWATCH_CLICKHOUSE_CLUSTER: 'tokenwatch_cluster', CLICKHOUSE_URL: 'http://127.0.0.1:9', CLICKHOUSE_DATABASE: 'tokenwatch' };
    const result = await runCli(['migrate', '--print'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${cluster.map((migration) => `-- ${migration.name}\n${migration.statements.map((statement) => `${statement};\n`).join('\n')}\n`).join('')}`);
    expect(result.stdout).toContain("ENGINE = Distributed('tokenwatch_cluster', 'tokenwatch', 'token_requests_local', cityHash64(tenant, client_id))");
  });
});

describe('infra/cluster: the two-shard, two-replica compose file and its ClickHouse config agree', () => {
  const read = (path: string) => readFileSync(new URL(`../../infra/cluster/${path}`, import.meta.url), 'utf8');
  const compose = z
    .object({ services: z.record(z.string(), z.object({ environment: z.record(z.string(), z.unknown()).optional(), volumes: z.array(z.string()).optional() })) })
    .parse(parseYaml(read('docker-compose.cluster.yml'), { merge: true }));
  const clusterXml = read('clickhouse/cluster.xml');

  it('names the cluster of remote_servers in TOKENWATCH_CLICKHOUSE_CLUSTER', () => {
    const cluster = compose.services.tokenwatch?.environment?.TOKENWATCH_CLICKHOUSE_CLUSTER;
    expect(cluster).toBe('tokenwatch_cluster');
    expect(clusterXml).toContain(`<remote_servers>\n        <${String(cluster)}>`);
    expect(compose.services.migrate?.environment?.TOKENWATCH_CLICKHOUSE_CLUSTER).toBe(cluster);
  });

  it('runs two shards of two replicas, each node with its own place, the cluster config and the shard-local grants', () => {
    const nodes = Object.entries(compose.services).filter(([, service]) => service.environment?.CLICKHOUSE_SHARD !== undefined);
    expect(nodes.map(([, service]) => `${String(service.environment?.CLICKHOUSE_SHARD)}/${String(service.environment?.CLICKHOUSE_REPLICA)}`).sort()).toEqual([
      '01/ch-s1r1',
      '01/ch-s1r2',
      '02/ch-s2r1',
      '02/ch-s2r2',
    ]);
    for (const [name, service] of nodes) {
      expect(service.environment?.CLICKHOUSE_REPLICA).toBe(name);
      expect(clusterXml).toContain(`<host>${name}</host>`);
      expect(service.volumes?.some((volume) => volume.startsWith('./clickhouse/cluster.xml:'))).toBe(true);
      expect(service.volumes?.some((volume) => volume.startsWith('./clickhouse/03-cluster-grants.sh:'))).toBe(true);
    }
    expect(clusterXml.match(/<internal_replication>true<\/internal_replication>/g)).toHaveLength(2);
    expect(clusterXml).toContain('<shard from_env="CLICKHOUSE_SHARD"/>');
    expect(clusterXml).toContain('<replica from_env="CLICKHOUSE_REPLICA"/>');
  });
});
