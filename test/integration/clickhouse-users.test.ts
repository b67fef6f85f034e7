import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@tokenwatch/shared/errors';
import { READ_ONLY_LIMITS } from '@tokenwatch/shared/storage/clickhouse';
import { loadMigrations, prepareSchema, splitStatements } from '@tokenwatch/shared/storage/migrate';
import { openTestStorage, selectRows } from '../helpers/storage.js';

// The least-privilege users of infra/clickhouse/, checked as far as the embedded engine allows.
//
// What chDB (ClickHouse 26.7 in-process, the engine of clickhouse-local) can NOT do, found by
// trying: it has no writable access storage, so CREATE ROLE / CREATE USER / CREATE SETTINGS
// PROFILE fail (ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND, even with access_management and a
// local_directory configured), and it cannot switch users (`--user` is ignored, EXECUTE AS is
// disabled). So no GRANT below is executed, and no query runs as a tokenwatch user here.
//
// What this file does check:
// - every statement of 01-roles.sql and users.sql.in parses with ClickHouse 26.7's own parser
//   (formatQuery);
// - the grants, read from the files, are exactly the intended matrix, and cover every table the
//   ingest, detector and notifier SQL in the code reads or writes;
// - the investigator's settings profile, translated to an XML profile (the one form chDB loads),
//   enforces its limits in the real engine and accepts what the HTTP client sends with every
//   `tokenwatch sql` query;
// - every materialized view is SQL SECURITY DEFINER, and a user that may not change the schema
//   gets the one-line "run `tokenwatch migrate`" error at start-up (a read-only engine stands in
//   for such a user).

const repo = fileURLToPath(new URL('../../', import.meta.url));
const infra = join(repo, 'infra/clickhouse');
const DUMMY_HASH = 'a'.repeat(64);

const rolesSql = splitStatements(readFileSync(join(infra, '01-roles.sql'), 'utf8'));
const usersSql = splitStatements(readFileSync(join(infra, 'users.sql.in'), 'utf8').replace(/\{\w+_sha256\}/g, DUMMY_HASH));

const ROLES = ['tokenwatch_migrator', 'tokenwatch_ingest', 'tokenwatch_detector', 'tokenwatch_notifier', 'tokenwatch_investigator'] as const;
type Role = (typeof ROLES)[number];

/** role -> "PRIVILEGE table" for every `GRANT <privileges> ON tokenwatch.<table> TO <role>`. */
function grantsByRole(): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>();
  for (const statement of rolesSql) {
    const match = /^GRANT\s+([\s\S]+?)\s+ON\s+tokenwatch\.(\S+)\s+TO\s+(\w+)$/.exec(statement);
    if (!match) continue;
    const [, privileges = '', table = '', role = ''] = match;
    const set = grants.get(role) ?? new Set<string>();
    for (const privilege of privileges.split(',')) set.add(`${privilege.trim().replace(/\s+/g, ' ')} ${table}`);
    grants.set(role, set);
  }
  return grants;
}

/** Tables the migrations create (and schema_migrations, which migrate.ts creates). */
const TABLES = new Set([
  'schema_migrations',
  ...loadMigrations().flatMap((migration) =>
    migration.statements.flatMap((statement) => [...statement.matchAll(/CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)/g)].map((m) => m[1] as string)),
  ),
]);

/** The tokenwatch tables the SQL files (and inline queries) under these directories read and write. */
function tablesUsed(...dirs: string[]): { read: Set<string>; written: Set<string> } {
  const read = new Set<string>();
  const written = new Set<string>();
  const visit = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (/\.(sql|ts)$/.test(entry.name)) {
        // Comments dropped: prose such as "reads from the ..." is not a query.
        const text = readFileSync(full, 'utf8').replace(/--[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '');
        for (const m of text.matchAll(/\b(?:FROM|JOIN)\s+(\w+)/g)) if (TABLES.has(m[1] as string)) read.add(m[1] as string);
        for (const m of text.matchAll(/\bINSERT\s+INTO\s+(\w+)/g)) if (TABLES.has(m[1] as string)) written.add(m[1] as string);
      }
    }
  };
  for (const dir of dirs) visit(join(repo, dir));
  return { read, written };
}

/** `name = value [MIN a] [MAX b] [CONST]` items of the investigator's CREATE SETTINGS PROFILE. */
function investigatorProfile(): { name: string; value: string; min?: string; max?: string; constant: boolean }[] {
  const statement = rolesSql.find((s) => s.startsWith('CREATE SETTINGS PROFILE IF NOT EXISTS tokenwatch_investigator_limits'));
  if (!statement) throw new Error('01-roles.sql has no tokenwatch_investigator_limits profile');
  const body = /^CREATE SETTINGS PROFILE IF NOT EXISTS \w+\s+SETTINGS\s+([\s\S]+?)\s+TO\s+tokenwatch_investigator$/.exec(statement)?.[1] ?? '';
  return body.split(',').map((item) => {
    const match = /^(\w+)\s*=\s*('[^']*'|\d+)(?:\s+MIN\s+(\d+))?(?:\s+MAX\s+(\d+))?(\s+CONST)?$/.exec(item.trim());
    if (!match) throw new Error(`cannot read profile item ${JSON.stringify(item.trim())}`);
    const [, name = '', value = '', min, max, constant] = match;
    return { name, value: value.replace(/^'|'$/g, ''), ...(min ? { min } : {}), ...(max ? { max } : {}), constant: constant !== undefined };
  });
}

describe('infra/clickhouse grants (read from the SQL files)', () => {
  it('gives each role exactly its intended privileges', () => {
    const grants = grantsByRole();
    const expected: Record<Role, string[]> = {
      tokenwatch_migrator: ['SELECT *', 'INSERT *', 'ALTER *', 'CREATE TABLE *', 'CREATE VIEW *', 'DROP TABLE *', 'DROP VIEW *'],
      tokenwatch_ingest: ['INSERT token_requests', 'SELECT schema_migrations'],
      tokenwatch_detector: [
        'SELECT token_requests',
        'SELECT client_minute_counts',
        'INSERT client_minute_counts',
        'SELECT client_locations',
        'INSERT client_locations',
        'SELECT jti_use_hours',
        'INSERT jti_use_hours',
        'SELECT client_traits',
        'INSERT client_traits',
        'SELECT clients',
        'INSERT clients',
        'SELECT client_asn_slots',
        'INSERT client_asn_slots',
        'SELECT client_credentials',
        'INSERT client_credentials',
        'SELECT credential_days',
        'INSERT credential_days',
        'SELECT alerts',
        'INSERT alerts',
        'SELECT detector_watermarks',
        'INSERT detector_watermarks',
        'SELECT watch_list',
        'INSERT watch_list',
        'SELECT alert_actions',
        'INSERT alert_actions',
        'SELECT schema_migrations',
      ],
      tokenwatch_notifier: ['SELECT alerts', 'SELECT notifications', 'INSERT notifications', 'SELECT schema_migrations'],
      tokenwatch_investigator: ['SELECT *'],
    };
    expect(new Set(grants.keys())).toEqual(new Set(ROLES));
    for (const role of ROLES) expect([...(grants.get(role) ?? [])].sort(), role).toEqual([...expected[role]].sort());
    for (const role of ROLES) expect(rolesSql, role).toContain(`CREATE ROLE IF NOT EXISTS ${role}`);
  });

  it('grants every table the ingest, detector and notifier queries in the code use', () => {
    const grants = grantsByRole();
    const covered = (role: Role, privilege: 'SELECT' | 'INSERT', table: string) =>
      grants.get(role)?.has(`${privilege} ${table}`) === true || grants.get(role)?.has(`${privilege} *`) === true;
    const components: [Role, string[]][] = [
      ['tokenwatch_ingest', ['shared/src/storage/insert-token-requests.sql', 'services/ingest/src']],
      ['tokenwatch_detector', ['services/detector/src', 'shared/src/storage/rollups']],
      ['tokenwatch_notifier', ['services/notifier/src']],
    ];
    for (const [role, dirs] of components) {
      const files = dirs.filter((dir) => dir.endsWith('.sql'));
      const used = tablesUsed(...dirs.filter((dir) => !dir.endsWith('.sql')));
      for (const file of files) {
        for (const m of readFileSync(join(repo, file), 'utf8').matchAll(/\bINSERT\s+INTO\s+(\w+)/g)) used.written.add(m[1] as string);
      }
      // The notifier's message text quotes an investigation query for humans; it never runs it.
      if (role === 'tokenwatch_notifier') used.read.delete('token_requests');
      expect(used.read.size + used.written.size, `${role}: found no queries in ${dirs.join(', ')}`).toBeGreaterThan(0);
      for (const table of used.read) expect(covered(role, 'SELECT', table), `${role} reads ${table}`).toBe(true);
      for (const table of used.written) expect(covered(role, 'INSERT', table), `${role} writes ${table}`).toBe(true);
    }
  });

  it('creates one user per role, with that role as its default and the limits profile on the investigator', () => {
    for (const role of ROLES) {
      const user = `${role}_user`;
      expect(usersSql, user).toContain(`GRANT ${role} TO ${user}`);
      expect(usersSql, user).toContain(`ALTER USER ${user} DEFAULT ROLE ${role}`);
      expect(usersSql.some((s) => s.startsWith(`CREATE USER IF NOT EXISTS ${user} IDENTIFIED WITH sha256_hash BY '${DUMMY_HASH}'`)), user).toBe(true);
    }
    expect(usersSql.some((s) => /^ALTER USER tokenwatch_investigator_user .*SETTINGS PROFILE 'tokenwatch_investigator_limits'$/.test(s))).toBe(true);
    // 02-users.sh fills every placeholder and reads each password from its own variable.
    const script = readFileSync(join(infra, '02-users.sh'), 'utf8');
    const template = splitStatements(readFileSync(join(infra, 'users.sql.in'), 'utf8')).join('\n');
    const placeholders = new Set([...template.matchAll(/\{(\w+)_sha256\}/g)].map((m) => m[1]));
    expect(placeholders).toEqual(new Set(ROLES.map((role) => role.replace('tokenwatch_', ''))));
    expect(script).toContain('for role in migrator ingest detector notifier investigator; do');
    expect(script).toContain('var="CLICKHOUSE_${role^^}_PASSWORD"');
  });

  it('leaves every materialized view SQL SECURITY DEFINER once migrated, so writers need no rights on the views\' targets', async () => {
    const clickhouse = await openTestStorage('view-security');
    try {
      const views = await selectRows<{ name: string; definer: number }>(
        clickhouse,
        "SELECT name, create_table_query LIKE '%SQL SECURITY DEFINER%' AS definer FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name",
      );
      expect(views).toEqual(
        // The rollups' views are gone since 0017 (the detector's tick rolls them up).
        ['token_requests_input_mv'].map((name) => ({ name, definer: 1 })),
      );
    } finally {
      await clickhouse.close();
    }
  });
});

describe('infra/clickhouse in the embedded engine (ClickHouse 26.7 via chDB)', () => {
  let dir: string;
  let session: Session;
  const profile = investigatorProfile();

  const run = (query: string) => session.query(query, 'TSV');
  const failure = (query: string): string => {
    try {
      run(query);
    } catch (error) {
      return String((error as Error).message);
    }
    throw new Error(`expected ${query} to fail`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokenwatch-users-'));
    // The default user gets the investigator profile, translated from SQL to XML.
    const values = profile.map(({ name, value }) => `<${name}>${value}</${name}>`).join('');
    const constraints = profile
      .map(({ name, min, max, constant }) => `<${name}>${constant ? '<const/>' : ''}${min ? `<min>${min}</min>` : ''}${max ? `<max>${max}</max>` : ''}</${name}>`)
      .join('');
    writeFileSync(join(dir, 'config.xml'), `<clickhouse><user_directories><users_xml><path>${join(dir, 'users.xml')}</path></users_xml></user_directories></clickhouse>`);
    writeFileSync(
      join(dir, 'users.xml'),
      `<clickhouse><profiles><default>${values}<constraints>${constraints}</constraints></default></profiles>` +
        '<users><default><password></password><networks><ip>::/0</ip></networks><profile>default</profile><quota>default</quota></default></users>' +
        '<quotas><default></default></quotas></clickhouse>',
    );
    session = new Session(dir, { connectionArgs: [`--config-file=${join(dir, 'config.xml')}`] });
  });

  afterAll(() => {
    session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parses every statement of 01-roles.sql and users.sql.in', () => {
    const statements = [...rolesSql, ...usersSql];
    expect(statements.length).toBeGreaterThan(30);
    for (const statement of statements) {
      const formatted = session.queryBind('SELECT formatQuery({statement:String})', { statement }, 'TSVRaw');
      expect(formatted.trim().length, relative(repo, infra)).toBeGreaterThan(0);
    }
  });

  it('the investigator profile holds its limits and accepts what `tokenwatch sql` sends', () => {
    expect(profile.map(({ name }) => name).sort()).toEqual(
      ['max_execution_time', 'max_memory_usage', 'max_result_bytes', 'max_result_rows', 'max_rows_to_read', 'read_overflow_mode', 'readonly', 'result_overflow_mode', 'timeout_overflow_mode'].sort(),
    );
    // The settings of every server-mode read-only request (READ_ONLY_LIMITS) are accepted.
    for (const [name, value] of Object.entries(READ_ONLY_LIMITS)) run(`SET ${name} = ${value}`);
    expect(run("SELECT getSetting('readonly'), getSetting('max_execution_time')").trim()).toBe('2\t120');

    // No writes, no DDL, no way out of read-only mode.
    expect(failure('CREATE TABLE t (a UInt8) ENGINE = Memory')).toMatch(/READONLY|readonly mode/);
    expect(failure('SET readonly = 0')).toMatch(/READONLY|readonly mode/);
    // Limits cannot be lifted by SET or by a query's SETTINGS clause, nor turned into truncation.
    const maxOf = (name: string) => Number(profile.find((item) => item.name === name)?.max);
    expect(failure(`SET max_execution_time = ${maxOf('max_execution_time') + 1}`)).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure('SET max_execution_time = 0')).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure(`SELECT 1 SETTINGS max_result_rows = ${maxOf('max_result_rows') + 1}`)).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure('SELECT 1 SETTINGS max_rows_to_read = 0')).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure(`SELECT 1 SETTINGS max_result_bytes = ${maxOf('max_result_bytes') + 1}`)).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure(`SELECT 1 SETTINGS max_memory_usage = ${maxOf('max_memory_usage') + 1}`)).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure('SELECT 1 SETTINGS max_memory_usage = 0')).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure("SELECT 1 SETTINGS result_overflow_mode = 'break'")).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure("SELECT 1 SETTINGS read_overflow_mode = 'break'")).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    expect(failure("SELECT 1 SETTINGS timeout_overflow_mode = 'break'")).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
    // They are in effect (the profile's values, not the engine's unlimited defaults), and a query
    // over a limit fails instead of being cut short. (Shown with lowered limits: a result of a
    // million rows takes seconds here.)
    expect(run("SELECT getSetting('max_result_rows'), getSetting('max_rows_to_read'), getSetting('result_overflow_mode'), getSetting('read_overflow_mode')").trim()).toBe(
      `${maxOf('max_result_rows')}\t${maxOf('max_rows_to_read')}\tthrow\tthrow`,
    );
    expect(run('SELECT count() FROM numbers(1000)').trim()).toBe('1000');
    expect(failure('SELECT number FROM numbers(10) SETTINGS max_result_rows = 5')).toMatch(/TOO_MANY_ROWS|Limit for result exceeded/);
    expect(failure('SELECT count() FROM numbers(100000) SETTINGS max_rows_to_read = 1000')).toMatch(/TOO_MANY_ROWS|max_rows_to_read/);
    // The memory limit is what bounds the serving process: the 600 MB result of issue #11 fails.
    expect(failure("SELECT repeat('x', 1000000) FROM numbers(600)")).toMatch(/MEMORY_LIMIT_EXCEEDED|memory limit|TOO_MANY_BYTES|Limit for result/);
  });

  it('a user that may not change the schema fails at start-up with one line naming `tokenwatch migrate`', async () => {
    // This engine's user is read-only; the empty database needs every migration.
    const client = createClient({ connection: createChdbConnection({ path: dir }) as never });
    try {
      const latest = Math.max(...loadMigrations().map((migration) => migration.version));
      const error = await prepareSchema(client, { retention_days: 90 }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(new RegExp(`^schema is at version 0, the code needs ${latest}: run \`tokenwatch migrate\` with a user that may change the schema \\(this one may not: `));
      expect(message).not.toContain('\n');
    } finally {
      await client.close();
    }
  });
});
