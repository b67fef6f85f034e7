import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, type CliResult } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { testEnv } from '../helpers/settings.js';

/**
 * Operator errors end the CLI with exit code 1 and exactly one line on stderr,
 * `tokenwatch: <what is wrong>`, naming the setting to fix; never a stack trace.
 */
function expectOneLineError(result: CliResult, ...mentions: string[]): void {
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr, 'a stack trace on stderr').not.toContain('    at ');
  expect(result.stderr.split('\n'), 'stderr must be exactly one line').toHaveLength(2);
  expect(result.stderr).toMatch(/^tokenwatch: [^\n]+\n$/);
  expect(result.stderr).not.toContain('unexpected error');
  for (const mention of mentions) expect(result.stderr).toContain(mention);
}

// The broker is unreachable: produce must give up quickly (ensureTopics promises seconds,
// not minutes of retries). Watched for at most this long, then killed.
const KAFKA_DEADLINE_MS = 20_000;

describe('tokenwatch CLI operator errors', () => {
  const env = testEnv('cli-errors');
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-cli-errors-'));
  const events = join(dir, 'events.jsonl');
  const empty = join(dir, 'empty.jsonl');
  let kafka: Promise<CliResult & { elapsedMs: number; finished: boolean }>;

  beforeAll(async () => {
    writeFileSync(events, `${JSON.stringify(canonicalEvent(1))}\n`);
    writeFileSync(empty, '');
    // Runs alongside the other cases: produce never opens the data directory.
    kafka = (async () => {
      const started = Date.now();
      const child = spawnCli(['produce', events], { ...env, KAFKA_BROKERS: '127.0.0.1:1' });
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const code = await new Promise<number | null | 'timeout'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), KAFKA_DEADLINE_MS);
        child.on('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      if (code === 'timeout') child.kill('SIGKILL');
      return { code: code === 'timeout' ? null : code, stdout, stderr: child.logs(), elapsedMs: Date.now() - started, finished: code !== 'timeout' };
    })();
    // Create the schema, so that the sql cases below run against real tables.
    const migrated = await runCli(['import', empty], env);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
  });

  it('names TOKENWATCH_BATCH_MAX_EVENTS when it is not a number', async () => {
    expectOneLineError(
      await runCli(['sql', 'SELECT 1'], { ...env, TOKENWATCH_BATCH_MAX_EVENTS: 'abc' }),
      'invalid setting TOKENWATCH_BATCH_MAX_EVENTS',
      '"abc"',
    );
  });

  it('refuses an investigation cap above the embedded engine\'s limit before starting, naming both settings', async () => {
    expectOneLineError(
      await runCli(['start'], { ...env, TOKENWATCH_SQL_MAX_MEMORY: String(512 * 1024 * 1024) }),
      'invalid setting TOKENWATCH_SQL_MAX_MEMORY: at most the embedded engine\'s limit, TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB=320',
      '"536870912"',
    );
  });

  it('names KAFKA_BROKERS when it is malformed, before connecting anywhere', async () => {
    expectOneLineError(await runCli(['produce', events], { ...env, KAFKA_BROKERS: 'nohostport' }), 'invalid setting KAFKA_BROKERS');
  });

  it('names CLICKHOUSE_URL when the ClickHouse server cannot be reached', async () => {
    expectOneLineError(
      await runCli(['sql', 'SELECT 1'], { ...env, CLICKHOUSE_URL: 'http://127.0.0.1:1' }),
      'CLICKHOUSE_URL=http://127.0.0.1:1',
    );
  });

  it('does not print the password of an unreachable CLICKHOUSE_URL', async () => {
    const result = await runCli(['sql', 'SELECT 1'], { ...env, CLICKHOUSE_URL: 'http://default:pw-7d6c5b@127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CLICKHOUSE_URL=');
    expect(result.stderr).not.toContain('pw-7d6c5b');
  });

  it('reports a syntax error in `sql` as one line', async () => {
    const result = await runCli(['sql', 'SELEC 1'], env);
    expectOneLineError(result, 'Syntax error');
  });

  it('reports an unknown table in `sql` as one line', async () => {
    expectOneLineError(await runCli(['sql', 'SELECT * FROM no_such_table'], env), 'no_such_table');
  });

  it('refuses writes through `sql` and leaves the data unchanged', async () => {
    expectOneLineError(await runCli(['sql', "INSERT INTO token_requests (event_id) VALUES ('x')"], env), 'read-only queries only: Insert statements are not allowed');
    expectOneLineError(await runCli(['sql', 'TRUNCATE TABLE token_requests'], env), 'read-only queries only: Truncate statements are not allowed');
    const count = await runCli(['sql', 'SELECT count() AS n FROM token_requests'], env);
    expect(count.stderr).toBe('');
    expect(count.code).toBe(0);
    expect(Number((JSON.parse(count.stdout) as { n: number | string }).n)).toBe(0);
  });

  it('refuses INTO OUTFILE and file() through `sql` with one line, writing nothing', async () => {
    const out = join(dir, 'outfile.txt');
    expectOneLineError(await runCli(['sql', `SELECT 1 INTO OUTFILE '${out}'`], env), 'INTO OUTFILE is not allowed');
    expectOneLineError(await runCli(['sql', "SELECT file('/etc/hostname')"], env), 'the function file() is not allowed');
    expect(existsSync(out)).toBe(false);
  });

  it('names TOKENWATCH_SQL_MAX_ROWS when a result is over it', async () => {
    expectOneLineError(await runCli(['sql', 'SELECT number FROM numbers(50)'], { ...env, TOKENWATCH_SQL_MAX_ROWS: '10' }), 'raise TOKENWATCH_SQL_MAX_ROWS');
  });

  it('creates a new data directory readable by its owner only', async () => {
    const dataDir = join(dir, 'fresh', 'data');
    const result = await runCli(['sql', 'SELECT 1 AS one'], { ...env, TOKENWATCH_DATA_DIR: dataDir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const path of [join(dir, 'fresh'), dataDir, join(dataDir, 'clickhouse')]) expect(statSync(path).mode & 0o777, path).toBe(0o700);
  });

  it('names TOKENWATCH_DATA_DIR in one line when the directory cannot be created', async () => {
    // A file where a directory should be (permissions would not stop root, who runs CI).
    const blocked = join(dir, 'events.jsonl', 'data');
    expectOneLineError(await runCli(['sql', 'SELECT 1'], { ...env, TOKENWATCH_DATA_DIR: blocked }), `cannot create the data directory TOKENWATCH_DATA_DIR=${blocked}`);
  });

  it('names CLICKHOUSE_URL in one line when it carries parameters the client does not know, hiding their values', async () => {
    const result = await runCli(['sql', 'SELECT 1'], { ...env, CLICKHOUSE_URL: 'http://127.0.0.1:1/?password=hunter2-in-url&foo=1' });
    expectOneLineError(result, 'invalid setting CLICKHOUSE_URL');
    expect(result.stderr).not.toContain('hunter2-in-url');
  });

  it('refuses an invalid --format with one line', async () => {
    expectOneLineError(await runCli(['sql', 'SELECT 1', '--format', 'JSON; DROP'], env), 'invalid sql arguments');
  });

  it('checks every command\'s flags one way, naming the flag and the value in one line', async () => {
    expectOneLineError(await runCli(['simulate', '--days', 'x'], env), 'invalid --days "x": expected a positive integer');
    expectOneLineError(await runCli(['simulate', '--start', 'soon'], env), 'invalid --start "soon": expected an ISO date');
    expectOneLineError(await runCli(['demo', '--history-days', '99'], env), 'invalid --history-days "99"');
    expectOneLineError(await runCli(['demo', '--idp', 'okta'], env), 'invalid --idp "okta"');
    expectOneLineError(await runCli(['demo', '--idp', 'keycloak', '--keycloak-url', 'ftp://127.0.0.1/'], env), 'invalid --keycloak-url "ftp://127.0.0.1/": expected an http(s):// URL');
    expectOneLineError(await runCli(['detect', '--once', '--from', 'x'], env), 'invalid --from "x": expected a date, an RFC 3339 time, or an age');
    expectOneLineError(await runCli(['detect', '--once', '--detector', 'nope'], env), 'invalid --detector "nope": expected one of watched_credential, jti_replay');
    expectOneLineError(await runCli(['alerts', '--limit', 'many'], env), 'invalid --limit "many"');
    expectOneLineError(await runCli(['tap', '--upstream', 'http://127.0.0.1:1/token', '--listen', 'nope'], env), 'invalid --listen "nope": expected host:port');
  });

  it('says how to start Keycloak when `demo --idp keycloak` finds none (elsewhere than the default address, it never starts one)', async () => {
    expectOneLineError(
      await runCli(['demo', '--idp', 'keycloak', '--keycloak-url', 'http://127.0.0.1:1'], env),
      "Keycloak's demo realm does not answer at http://127.0.0.1:1/realms/demo/.well-known/openid-configuration",
    );
  });

  it(`gives up on an unreachable KAFKA_BROKERS within ${KAFKA_DEADLINE_MS / 1000} s`, async () => {
    const result = await kafka;
    expect(result.finished, `still running after ${KAFKA_DEADLINE_MS} ms`).toBe(true);
    expect(result.code).toBe(1);
  });

  it('names KAFKA_BROKERS in one line when the broker cannot be reached, without stack traces', async () => {
    const result = await kafka;
    // Checked on whatever it printed, even if it had to be killed.
    expect(result.stderr, 'a stack trace on stderr').not.toContain('    at ');
    expectOneLineError(result, 'cannot reach Kafka at KAFKA_BROKERS=127.0.0.1:1');
  });
});
