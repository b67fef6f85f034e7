import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { canonicalEvent, malformedMessage } from '../helpers/events.js';
import { testEnv } from '../helpers/settings.js';

// Every ClickHouse access goes through CLI subprocesses, one at a time, so the embedded data
// directory is never opened twice at once.

const VALID = 500;
const SECRET = 'hunter2-secret';

interface Reject {
  line: number;
  reason: string;
  record: string;
}

const readRejects = (path: string): Reject[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Reject);

async function sqlCount(env: Record<string, string>, query: string): Promise<number> {
  const result = await runCli(['sql', query], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return Number((JSON.parse(result.stdout.trim()) as { n: number | string }).n);
}

describe('tokenwatch import', () => {
  const env = testEnv('import');
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-import-files-'));
  const file = join(dir, 'events.jsonl');
  const rejectsFile = `${file}.rejects.jsonl`;
  /** 1-based line number of every rejected line, with the reason it must give. */
  const expectedRejects: { line: number; reasonIncludes: string }[] = [];
  let first: CliResult;

  beforeAll(async () => {
    const lines: string[] = [];
    const malformed = [
      ...Array.from({ length: 8 }, (_, i) => malformedMessage(i)),
      // Secrets in rejected lines: a JSON line that fails the schema, and a form-encoded one.
      {
        value: JSON.stringify({ ...canonicalEvent(900_001), source_ip: '999.1.1.1', client_secret: SECRET }),
        reasonIncludes: 'source_ip',
      },
      { value: `client_id=svc-orders&client_secret=${SECRET}&grant_type=client_credentials`, reasonIncludes: 'not JSON' },
    ];
    for (let i = 0; i < VALID; i += 1) {
      lines.push(JSON.stringify(canonicalEvent(i)));
      if (i % 50 === 10) lines.push('', '   ');
      if (i % 25 === 24) {
        // A re-sent event: 10 exact copies, 10 with the same event_id but a later time.
        const k = lines.length;
        lines.push(k % 2 === 0 ? JSON.stringify(canonicalEvent(i - 3)) : JSON.stringify(canonicalEvent(i - 3, { time: Date.UTC(2026, 10, 28) })));
      }
      if (i % 50 === 30) {
        const bad = malformed[(i - 30) / 50];
        if (bad) {
          lines.push(bad.value);
          expectedRejects.push({ line: lines.length, reasonIncludes: bad.reasonIncludes });
        }
      }
    }
    lines.push('');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(lines.filter((l) => l.trim() !== '')).toHaveLength(VALID + 20 + 10);
    expect(expectedRejects).toHaveLength(10);

    first = await runCli(['import', file], env);
  });

  it('stores the unique valid events and counts duplicates and rejects', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`inserted ${VALID}, duplicate 20, rejected 10 (see ${rejectsFile}), skipped 0\n`);
  });

  it('writes every rejected line to <file>.rejects.jsonl with its line number and reason', () => {
    const rejects = readRejects(rejectsFile);
    expect(rejects.map((r) => r.line)).toEqual(expectedRejects.map((r) => r.line));
    rejects.forEach((reject, i) => {
      expect(reject.reason).toContain(expectedRejects[i]?.reasonIncludes);
      expect(typeof reject.record).toBe('string');
    });
    // The rejected records themselves are there (redacted), to be fixed and re-imported.
    expect(rejects[0]?.record).toBe(malformedMessage(0).value);
  });

  it('keeps secrets out of the rejects file', () => {
    const text = readFileSync(rejectsFile, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('hunter2');
    const rejects = readRejects(rejectsFile);
    expect(rejects.at(-2)?.record).toContain('client_secret');
    expect(rejects.at(-1)?.record).toContain('client_id=svc-orders');
  });

  it('stores each event once, with the first of its copies', async () => {
    expect(await sqlCount(env, 'SELECT count() AS n FROM token_requests FINAL')).toBe(VALID);
    expect(await sqlCount(env, 'SELECT uniqExact(event_id) AS n FROM token_requests')).toBe(VALID);
    expect(await sqlCount(env, "SELECT count() AS n FROM token_requests FINAL WHERE toDate(time) = '2026-11-28'")).toBe(0);
  });

  it('stores nothing new when the same file is imported again', async () => {
    const again = await runCli(['import', file], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`inserted 0, duplicate ${VALID + 20}, rejected 10 (see ${rejectsFile}), skipped 0\n`);
    expect(readRejects(rejectsFile)).toHaveLength(10);
    expect(await sqlCount(env, 'SELECT count() AS n FROM token_requests FINAL')).toBe(VALID);
  });

  it('reads stdin for `import -`', async () => {
    const input = [
      ...Array.from({ length: 5 }, (_, i) => JSON.stringify(canonicalEvent(10_000 + i))),
      JSON.stringify(canonicalEvent(3)), // stored already
      '',
    ].join('\n');
    const result = await runCli(['import', '-'], env, { input });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('inserted 5, duplicate 1, rejected 0, skipped 0\n');
    expect(await sqlCount(env, "SELECT count() AS n FROM token_requests FINAL WHERE event_id LIKE 'evt-1000_'")).toBe(5);
  });

  it('writes the rejects of `import -` to stdin.rejects.jsonl in the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tokenwatch-import-cwd-'));
    const input = `${JSON.stringify(canonicalEvent(20_000))}\n${malformedMessage(2).value}\n`;
    const child = spawn(process.execPath, [CLI, 'import', '-'], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('inserted 1, duplicate 0, rejected 1 (see stdin.rejects.jsonl), skipped 0\n');
    const [reject] = readRejects(join(cwd, 'stdin.rejects.jsonl'));
    expect(reject?.line).toBe(2);
    expect(reject?.reason).toContain('source_ip');
  });

  it('fails with one line for a file that does not exist, and writes no rejects file', async () => {
    const missing = join(dir, 'missing.jsonl');
    const result = await runCli(['import', missing], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^tokenwatch: cannot read ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*ENOENT.*\\n$`));
    expect(existsSync(`${missing}.rejects.jsonl`)).toBe(false);
  });

  it('redacts every kind of credential key in rejected JSON lines, as the dead-letter topic does', async () => {
    const secrets = { api_key: 'ak-live-7c1d2e', token: 'tok-9a8b7c', secret: 'sec-5f4e3d', private_key: 'pk-2b3c4d', code_verifier: 'cv-6e5f4a' };
    const path = join(dir, 'keys.jsonl');
    writeFileSync(path, `${JSON.stringify({ ...canonicalEvent(30_000), outcome: 'maybe', ...secrets })}\n`);
    const result = await runCli(['import', path], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('rejected 1');
    const text = readFileSync(`${path}.rejects.jsonl`, 'utf8');
    for (const value of Object.values(secrets)) expect(text, value).not.toContain(value);
  });

  it('counts events older than the retention as expired, not inserted, and says so', async () => {
    const path = join(dir, 'old.jsonl');
    const old = (i: number) => JSON.stringify(canonicalEvent(50_000 + i, { time: Date.UTC(2020, 0, 6 + i) }));
    writeFileSync(path, `${old(0)}\n${JSON.stringify(canonicalEvent(50_100))}\n${old(1)}\n`);
    const result = await runCli(['import', path], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'inserted 1, duplicate 0, rejected 0, skipped 0, expired 2 (older than TOKENWATCH_RETENTION_DAYS=90: not stored, retention would drop them)\n',
    );
    expect(await sqlCount(env, "SELECT count() AS n FROM token_requests WHERE event_id IN ('evt-50000', 'evt-50001', 'evt-50100')")).toBe(1);
  });

  it('imports a valid event whose epoch-ms time is written as 1795780800000.0 along with the rest of its file', async () => {
    const path = join(dir, 'float-time.jsonl');
    const odd = JSON.stringify({ ...canonicalEvent(40_000), time: 0 }).replace('"time":0', '"time":1795780800000.0');
    writeFileSync(path, `${JSON.stringify(canonicalEvent(40_001))}\n${odd}\n`);
    const result = await runCli(['import', path], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('inserted 2, duplicate 0, rejected 0, skipped 0\n');
  });
});
