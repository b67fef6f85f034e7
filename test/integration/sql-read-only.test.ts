import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError } from '@tokenwatch/shared/errors';
import { openClickHouse, type ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { migrate } from '@tokenwatch/shared/storage/migrate';
import { runReadOnlyQuery } from '@tokenwatch/server/query-server/read-only-query';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { runCli, spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { createTopic } from '../helpers/kafka.js';
import { settingsFrom, testEnv } from '../helpers/settings.js';

// `tokenwatch sql` is read-only and bounded on both paths: this process's own read-only
// connection (no service running) and the query server of a running `tokenwatch start`, where
// the query runs inside the service and a side effect would be the service's.

/** Each shape ClickHouse accepts in read-only mode that would touch a file, a host or another query. */
function refusedShapes(dir: string): readonly { readonly sql: string; readonly reason: RegExp }[] {
  const out = join(dir, 'out.txt');
  return [
    { sql: `SELECT 1 INTO OUTFILE '${out}'`, reason: /INTO OUTFILE/ },
    { sql: `SELECT 1 INTO OUTFILE '${out}' TRUNCATE`, reason: /INTO OUTFILE/ },
    { sql: `SELECT 1 INTO OUTFILE '${out}' APPEND`, reason: /INTO OUTFILE/ },
    { sql: `select 1 /* comment */ into   outfile '${out}' AND STDOUT`, reason: /INTO OUTFILE/ },
    { sql: `SELECT 1 INTO OUTFILE '${out}' COMPRESSION 'gzip'`, reason: /INTO OUTFILE/ },
    { sql: `SELECT 1 UNION ALL SELECT 2 INTO OUTFILE '${out}'`, reason: /INTO OUTFILE/ },
    { sql: `WITH 1 AS a SELECT a INTO OUTFILE '${out}';`, reason: /INTO OUTFILE/ },
    { sql: `SHOW TABLES INTO OUTFILE '${out}'`, reason: /INTO OUTFILE/ },
    { sql: `DESCRIBE TABLE token_requests INTO OUTFILE '${out}'`, reason: /INTO OUTFILE/ },
    { sql: `EXPLAIN SELECT 1 INTO OUTFILE '${out}'`, reason: /INTO OUTFILE/ },
    { sql: "SELECT file('/etc/hostname')", reason: /function file\(\)/ },
    { sql: "SELECT `file`('/etc/hostname') AS f", reason: /function file\(\)/ },
    { sql: "SELECT * FROM file('/etc/hostname', 'LineAsString')", reason: /table function file\(\)/ },
    { sql: "SELECT count() FROM (SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String'))", reason: /table function url\(\)/ },
    { sql: "SELECT * FROM s3('http://127.0.0.1:1/bucket-name/x.csv')", reason: /table function s3\(\)/ },
    { sql: "SELECT * FROM remote('127.0.0.1:1', system.one)", reason: /table function remote\(\)/ },
    { sql: "SELECT * FROM executable('id', 'TSV', 'x String')", reason: /table function executable\(\)/ },
    { sql: "SELECT * FROM system.one JOIN file('/etc/hostname', 'LineAsString') ON 1", reason: /table function file\(\)/ },
    { sql: "DESCRIBE file('/etc/hostname', 'LineAsString')", reason: /table function file\(\)/ },
    { sql: 'KILL QUERY WHERE 1', reason: /KillQuery statements/ },
    { sql: 'SET max_result_rows = 0', reason: /not allowed|readonly|Syntax error/i },
    { sql: 'SYSTEM DROP DNS CACHE', reason: /not allowed|readonly|Syntax error/i },
    { sql: 'SELECT number FROM numbers(10) SETTINGS max_result_rows = 0', reason: /SETTINGS clause|in readonly mode/ },
    { sql: 'SELECT * FROM (SELECT 1 SETTINGS max_memory_usage = 0)', reason: /SETTINGS clause|in readonly mode/ },
    { sql: "INSERT INTO token_requests (event_id) VALUES ('x')", reason: /not allowed|readonly|Syntax error/i },
  ];
}

describe('tokenwatch sql on its own read-only connection', () => {
  let writer: ClickHouse;
  let readOnly: ClickHouse;
  let dataDir: string;

  beforeAll(async () => {
    const env = testEnv('sql-direct', { TOKENWATCH_SQL_MAX_ROWS: '1000' });
    dataDir = env.TOKENWATCH_DATA_DIR as string;
    writer = await openClickHouse(settingsFrom(env));
    await migrate(writer.client, { retention_days: 7_300 });
    await writer.close();
    readOnly = await openClickHouse(settingsFrom(env), { readOnly: true });
  });

  afterAll(async () => {
    await readOnly?.close();
  });

  const run = async (query: string, params: Record<string, string> = {}) =>
    streamText(await runReadOnlyQuery(readOnly, { query, format: 'JSONEachRow', params }));

  it('refuses every shape that writes a file, reads one, reaches out or stops another query', async () => {
    for (const { sql, reason } of refusedShapes(dataDir)) {
      const error = await run(sql).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, sql).toBeInstanceOf(QueryError);
      expect((error as Error).message, sql).toMatch(reason);
      expect((error as Error).message, sql).not.toContain('\n');
    }
    expect(existsSync(join(dataDir, 'out.txt'))).toBe(false);
  });

  it('still answers reading queries, with parameters, DESCRIBE, SHOW, EXPLAIN and generators', async () => {
    expect(Number((JSON.parse(await run('SELECT {n:UInt32} + 1 AS x', { n: '41' })) as { x: string }).x)).toBe(42);
    expect(await run("SELECT 'INTO OUTFILE file(1)' AS text;")).toContain('INTO OUTFILE file(1)');
    expect(await run('DESCRIBE TABLE token_requests')).toContain('event_id');
    expect(await run('SHOW TABLES')).toContain('token_requests');
    expect(await run('EXPLAIN SELECT count() FROM token_requests')).toContain('explain');
    expect((await run('SELECT number FROM numbers(1000)')).trim().split('\n')).toHaveLength(1000);
  });

  it('stops a result over TOKENWATCH_SQL_MAX_ROWS and names the setting', async () => {
    await expect(run('SELECT number FROM numbers(100000)')).rejects.toThrow(/too many rows .*TOKENWATCH_SQL_MAX_ROWS/);
  });

  it('stops a query over TOKENWATCH_SQL_MAX_MEMORY and names the setting', async () => {
    await expect(run("SELECT repeat('x', 1000000) FROM numbers(600)")).rejects.toThrow(/too much memory .*TOKENWATCH_SQL_MAX_MEMORY/);
  });
});

/** Peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

describe('tokenwatch sql through the query server of tokenwatch start', () => {
  let env: Record<string, string>;
  let service: CliProcess;

  beforeAll(async () => {
    env = testEnv('sql-served', { TOKENWATCH_HTTP_PORT: 'off', LOG_LEVEL: 'info' });
    await createTopic(env.TOKENWATCH_TOPIC as string);
    service = spawnCli(['start'], env);
    await waitFor(() => readDiscovery(env.TOKENWATCH_DATA_DIR as string), (server) => server !== undefined, { timeoutMs: 90_000, what: 'the query server to write its discovery file' });
  }, 120_000);

  afterAll(async () => {
    if (service) expect(await terminate(service, 'SIGTERM')).toBe(0);
  });

  it('refuses INTO OUTFILE aimed at its own discovery file, which stays intact', async () => {
    const dataDir = env.TOKENWATCH_DATA_DIR as string;
    const discovery = join(dataDir, 'query-server.json');
    const before = readFileSync(discovery, 'utf8');
    for (const mode of ['TRUNCATE', 'APPEND']) {
      const result = await runCli(['sql', `SELECT 'owned' INTO OUTFILE '${discovery}' ${mode}`], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^tokenwatch: tokenwatch sql runs read-only queries only: INTO OUTFILE is not allowed/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    // Every other shape over the same HTTP path, without a CLI process each.
    const server = readDiscovery(dataDir);
    if (!server) throw new Error('the query server went away');
    for (const { sql, reason } of refusedShapes(dataDir)) {
      const error = await queryThroughServer(server, { query: sql, format: 'JSONEachRow' }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, sql).toBeInstanceOf(QueryError);
      expect((error as Error).message, sql).toMatch(reason);
    }
    expect(readFileSync(discovery, 'utf8')).toBe(before);
    expect(existsSync(join(dataDir, 'out.txt'))).toBe(false);
  }, 240_000);

  it('keeps the data directory private', () => {
    const dataDir = env.TOKENWATCH_DATA_DIR as string;
    expect(statSync(join(dataDir, 'clickhouse')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'query-server.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses the result that took the service to 3.7 GB, and its memory stays bounded', async () => {
    const before = peakRssMb(service.pid as number);
    const result = await runCli(['sql', "SELECT repeat('x', 1000000) FROM numbers(600)"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tokenwatch: the query needs too much memory .*raise TOKENWATCH_SQL_MAX_MEMORY\n$/);
    const wide = await runCli(['sql', 'SELECT repeat(toString(number), 2000) AS s FROM numbers(400000)'], env);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/TOKENWATCH_SQL_MAX_(MEMORY|BYTES)/);
    const after = peakRssMb(service.pid as number);
    // The engine may use up to TOKENWATCH_SQL_MAX_MEMORY (half its limit, 160 MiB) for the query, plus the copy
    // handed to the query server; never the gigabytes an unbounded result takes.
    expect(after - before, `peak RSS ${before.toFixed(0)} MB -> ${after.toFixed(0)} MB`).toBeLessThan(1_100);
  }, 120_000);

  it('streams a large allowed result whole, and answers --param', async () => {
    const result = await runCli(['sql', 'SELECT number, toString(number) AS s FROM numbers(500000)'], env);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(500_000);
    const last = JSON.parse(lines.at(-1) as string) as { number: number | string; s: string };
    expect([Number(last.number), last.s]).toEqual([499_999, '499999']);
    const param = await runCli(['sql', 'SELECT {n:UInt32} * 2 AS x', '--param', 'n=21'], env);
    expect(param.code, param.stderr).toBe(0);
    expect(Number((JSON.parse(param.stdout) as { x: string }).x)).toBe(42);
  }, 120_000);
});
