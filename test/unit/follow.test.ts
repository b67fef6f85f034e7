import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSplitter, type SplitLine } from '@tokenwatch/ingest/follow/lines';
import { nextStep, startPosition } from '@tokenwatch/ingest/follow/position';
import { loadPosition, savePosition } from '@tokenwatch/ingest/follow/state-file';

const text = (lines: readonly SplitLine[]) => lines.map((line) => (line.kind === 'line' ? line.bytes.toString('utf8') : `<${line.length} bytes>`));

describe('LineSplitter', () => {
  it('returns a line only once its newline arrived, with its offsets, however the bytes are cut', () => {
    const splitter = new LineSplitter(1_000, 100);
    expect(splitter.push(Buffer.from('{"a":1}\n{"b"'))).toEqual([{ kind: 'line', start: 100, end: 108, bytes: Buffer.from('{"a":1}') }]);
    // The unfinished line is where a restart resumes; the read offset is past it.
    expect(splitter.resumeOffset).toBe(108);
    expect(splitter.readOffset).toBe(112);
    expect(splitter.push(Buffer.from(':2'))).toEqual([]);
    expect(splitter.push(Buffer.from('}\r\n\n  \n{"c":3}\n'))).toEqual([
      { kind: 'line', start: 108, end: 117, bytes: Buffer.from('{"b":2}') },
      { kind: 'line', start: 121, end: 129, bytes: Buffer.from('{"c":3}') },
    ]);
    expect(splitter.resumeOffset).toBe(129);
  });

  it('cuts a file fed one byte at a time into the same lines as fed whole', () => {
    const input = Buffer.from('first\nsecond line\r\nthird\n\nlast-unfinished');
    const whole = new LineSplitter(1_000, 0).push(input);
    const bytewise = new LineSplitter(1_000, 0);
    const lines = [...input].flatMap((byte) => bytewise.push(Buffer.from([byte])));
    expect(lines).toEqual(whole);
    expect(text(lines)).toEqual(['first', 'second line', 'third']);
  });

  it('keeps only the first maxLineBytes of a longer line and returns it as oversized, then goes on', () => {
    const splitter = new LineSplitter(8, 0);
    const lines = [...splitter.push(Buffer.from('0123456789')), ...splitter.push(Buffer.from('abcdef\nok\n'))];
    expect(lines).toEqual([
      { kind: 'oversized', start: 0, end: 17, length: 16, prefix: Buffer.from('01234567') },
      { kind: 'line', start: 17, end: 20, bytes: Buffer.from('ok') },
    ]);
  });

  it('takes a line of exactly maxLineBytes, with or without \\r, as a line', () => {
    const splitter = new LineSplitter(4, 0);
    expect(text(splitter.push(Buffer.from('abcd\nefgh\r\nijklm\n')))).toEqual(['abcd', 'efgh', '<5 bytes>']);
  });

  it('gives the unfinished line as a last line when the file ends for good, and starts over', () => {
    const splitter = new LineSplitter(1_000, 0);
    splitter.push(Buffer.from('a\nunfinished'));
    expect(splitter.finish()).toEqual({ kind: 'line', start: 2, end: 12, bytes: Buffer.from('unfinished') });
    expect(splitter.finish()).toBeUndefined();
    splitter.restartAt(0);
    expect([splitter.readOffset, splitter.resumeOffset]).toEqual([0, 0]);
    expect(text(splitter.push(Buffer.from('x\n')))).toEqual(['x']);
  });
});

describe('where to start a followed file', () => {
  const file = { dev: '1', ino: '42', size: 500 };

  it('resumes at the saved position in the same file', () => {
    expect(startPosition({ dev: '1', ino: '42', position: 300 }, file, true)).toEqual({ position: 300, reason: 'saved' });
  });

  it('starts at the beginning on a first run, or at the end with --from-end', () => {
    expect(startPosition(undefined, file, false)).toEqual({ position: 0, reason: 'beginning' });
    expect(startPosition(undefined, file, true)).toEqual({ position: 500, reason: 'end' });
  });

  it('reads all of a file rotated in or truncated while stopped', () => {
    expect(startPosition({ dev: '1', ino: '41', position: 300 }, file, false)).toEqual({ position: 0, reason: 'replaced_while_stopped' });
    expect(startPosition({ dev: '2', ino: '42', position: 300 }, file, false)).toEqual({ position: 0, reason: 'replaced_while_stopped' });
    expect(startPosition({ dev: '1', ino: '42', position: 501 }, file, false)).toEqual({ position: 0, reason: 'truncated_while_stopped' });
  });
});

describe('what to do at the end of the open file', () => {
  const open = { dev: '1', ino: '42', size: 500 };

  it('waits while the path names the open file, or no file (mid-rotation)', () => {
    expect(nextStep(500, open, { dev: '1', ino: '42' })).toBe('wait');
    expect(nextStep(500, open, undefined)).toBe('wait');
  });

  it('starts again when the open file is shorter than what was read', () => {
    expect(nextStep(501, open, { dev: '1', ino: '42' })).toBe('truncated');
  });

  it('switches when the path names another file', () => {
    expect(nextStep(500, open, { dev: '1', ino: '43' })).toBe('rotated');
  });
});

describe('the state file', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-follow-state-'));

  it('round-trips a position, replaced atomically (no temporary file left)', async () => {
    const statePath = join(directory, 'round-trip.json');
    expect(await loadPosition(statePath, '/logs/a.log')).toBeUndefined();
    await savePosition(statePath, '/logs/a.log', { dev: '1', ino: '18446744073709551615', position: 12 });
    await savePosition(statePath, '/logs/a.log', { dev: '1', ino: '18446744073709551615', position: 34 });
    expect(await loadPosition(statePath, '/logs/a.log')).toEqual({ dev: '1', ino: '18446744073709551615', position: 34 });
    expect(readdirSync(directory).filter((name) => name.startsWith('round-trip'))).toEqual(['round-trip.json']);
  });

  it('refuses the position of another file, and a file that is not a position, naming it', async () => {
    const statePath = join(directory, 'other.json');
    await savePosition(statePath, '/logs/a.log', { dev: '1', ino: '2', position: 3 });
    await expect(loadPosition(statePath, '/logs/b.log')).rejects.toThrow(`state file ${statePath} is the position in /logs/a.log, not in /logs/b.log`);
    writeFileSync(statePath, '{"version":1,"file":"/logs/a.log","dev":"1","ino":"2","position":-3,"savedAt":"x"}');
    await expect(loadPosition(statePath, '/logs/a.log')).rejects.toThrow(/is not a follow position \(position: /);
    writeFileSync(statePath, 'not json');
    await expect(loadPosition(statePath, '/logs/a.log')).rejects.toThrow(/is not JSON/);
    writeFileSync(statePath, ' '.repeat(70_000));
    await expect(loadPosition(statePath, '/logs/a.log')).rejects.toThrow(/is over 65536 bytes/);
  });
});
