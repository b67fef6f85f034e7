// tsc compiles only TypeScript; the .sql files that sit beside the code that owns them
// are copied into dist/ at the same relative paths so `new URL('./x.sql', import.meta.url)`
// resolves identically from src/ (vitest) and dist/ (node).
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

function copySql(from, to) {
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    if (statSync(source).isDirectory()) copySql(source, join(to, name));
    else if (name.endsWith('.sql')) {
      mkdirSync(dirname(join(to, name)), { recursive: true });
      cpSync(source, join(to, name));
    }
  }
}
copySql('src', 'dist');
