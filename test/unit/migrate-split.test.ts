import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, splitStatements } from '@tokenwatch/shared/storage/migrate';

describe('splitStatements', () => {
  it('splits statements on semicolons that end a line', () => {
    expect(splitStatements('CREATE TABLE a (x UInt8) ENGINE = Memory;\nCREATE TABLE b (y UInt8) ENGINE = Memory;\n')).toEqual([
      'CREATE TABLE a (x UInt8) ENGINE = Memory',
      'CREATE TABLE b (y UInt8) ENGINE = Memory',
    ]);
  });

  it('drops whole-line comments, indented ones included', () => {
    const sql = ['-- header comment', 'CREATE TABLE a', '(', '    -- a column comment', '    x UInt8', ') ENGINE = Memory;', '-- trailing'].join('\n');
    expect(splitStatements(sql)).toEqual(['CREATE TABLE a\n(\n    x UInt8\n) ENGINE = Memory']);
  });

  it('keeps a statement without a final semicolon', () => {
    expect(splitStatements('SELECT 1;\nSELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('does not split on a semicolon inside a line', () => {
    expect(splitStatements("SELECT ';' AS s, 'a;b' AS t;\nSELECT 2;")).toEqual(["SELECT ';' AS s, 'a;b' AS t", 'SELECT 2']);
  });

  it('tolerates trailing whitespace and CRLF line endings', () => {
    expect(splitStatements('SELECT 1;   \r\n-- note\r\nSELECT 2;\r\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('returns nothing for comments and blank lines only', () => {
    expect(splitStatements('-- nothing here\n\n   \n-- still nothing\n')).toEqual([]);
  });
});

describe('loadMigrations', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('finds 0001_token_requests with one CREATE TABLE statement and a retention parameter', () => {
    const migrations = loadMigrations();
    const first = migrations[0];
    expect(first?.version).toBe(1);
    expect(first?.name).toBe('0001_token_requests');
    expect(first?.statements).toHaveLength(1);
    expect(first?.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS token_requests\b/);
    expect(first?.statements[0]).toContain('{retention_days:UInt32}');
    expect(first?.statements[0]).not.toMatch(/^\s*--/m);
    // Versions are unique and ascending.
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  });

  it('loads NNNN_name.sql files in order and ignores everything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-migrations-'));
    dirs.push(dir);
    writeFileSync(join(dir, '0002_second.sql'), 'CREATE TABLE b (x UInt8) ENGINE = Memory;\nALTER TABLE b ADD COLUMN y UInt8;\n');
    writeFileSync(join(dir, '0001_first.sql'), '-- first\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n');
    writeFileSync(join(dir, 'README.md'), 'not a migration');
    writeFileSync(join(dir, '3_short.sql'), 'SELECT 1;');
    writeFileSync(join(dir, '0003_draft.sql.bak'), 'SELECT 1;');
    expect(loadMigrations(dir)).toEqual([
      { version: 1, name: '0001_first', statements: ['CREATE TABLE a (x UInt8) ENGINE = Memory'] },
      { version: 2, name: '0002_second', statements: ['CREATE TABLE b (x UInt8) ENGINE = Memory', 'ALTER TABLE b ADD COLUMN y UInt8'] },
    ]);
  });
});
