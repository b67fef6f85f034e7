import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppendedLines } from '@tokenwatch/demo/keycloak/log';

// The demo's reader of what Keycloak appends to its log (and the Keycloak tests' reader).
describe('AppendedLines', () => {
  const file = () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tokenwatch-lines-')), 'keycloak.log');
    writeFileSync(path, '{"before":1}\n');
    return path;
  };

  it('reads only what was appended after it was made, in complete lines', () => {
    const path = file();
    const log = new AppendedLines(path);
    expect(log.read()).toEqual([]);
    appendFileSync(path, '{"a":1}\n\n{"b":');
    expect(log.read()).toEqual(['{"a":1}']);
    appendFileSync(path, '2}\n');
    expect(log.read()).toEqual(['{"b":2}']);
    expect(log.read()).toEqual([]);
  });

  it('starts over when the file was truncated (keycloak.sh empties it when it starts the server)', () => {
    const path = file();
    const log = new AppendedLines(path);
    writeFileSync(path, '{"new":1}\n');
    expect(log.read()).toEqual(['{"new":1}']);
  });

  it('reads from a given offset', () => {
    const path = file();
    appendFileSync(path, '{"c":3}\n');
    expect(new AppendedLines(path, '{"before":1}\n'.length).read()).toEqual(['{"c":3}']);
  });
});
