import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Which workspace may import which: data flows ingest -> storage -> detect -> notify, so a
 * package imports only `shared` and the packages before it in that flow. The server composes
 * the services; the CLI parses flags and calls any of them.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  shared: [],
  ingest: ['shared'],
  simulator: ['shared'],
  tap: ['shared'],
  detector: ['shared'],
  notifier: ['shared', 'detector'],
  console: ['shared'],
  server: ['shared', 'ingest', 'detector', 'notifier', 'console'],
  demo: ['shared', 'ingest', 'simulator', 'server'],
  cli: ['shared', 'ingest', 'detector', 'notifier', 'simulator', 'tap', 'server', 'demo', 'console'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function packageDirs(): Array<[string, string]> {
  const services = readdirSync(join(ROOT, 'services')).map((name): [string, string] => [name, join(ROOT, 'services', name, 'src')]);
  return [['shared', join(ROOT, 'shared', 'src')], ...services];
}

describe('the folders follow the data flow', () => {
  it('lists every workspace under services/', () => {
    expect(packageDirs().map(([name]) => name).sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it('imports point down the flow or into shared', () => {
    const wrong: string[] = [];
    for (const [name, dir] of packageDirs()) {
      for (const file of sourceFiles(dir)) {
        for (const match of readFileSync(file, 'utf8').matchAll(/from '@tokenwatch\/([a-z]+)/g)) {
          const target = match[1] ?? '';
          if (target !== name && !(MAY_IMPORT[name] ?? []).includes(target)) wrong.push(`${file.slice(ROOT.length)} imports @tokenwatch/${target}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('relative imports stay inside their own package', () => {
    const wrong: string[] = [];
    for (const [, dir] of packageDirs()) {
      for (const file of sourceFiles(dir)) {
        for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
          const target = join(file, '..', match[1] ?? '');
          if (!target.startsWith(dir)) wrong.push(`${file.slice(ROOT.length)} imports ${match[1]}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
