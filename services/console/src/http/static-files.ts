import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './respond.js';

/** Where `vite build` puts the page (web/vite.config.ts): dist/web beside dist/http. */
export const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** Built asset names: Vite's `name-hash.ext`. Anything else (.., %2f, a dotfile) is not ours. */
const ASSET_NAME = /^[A-Za-z0-9_-]{1,100}\.[a-z0-9]{1,8}$/;

/**
 * Serves the built page: index.html for every page path (the page routes itself), and the
 * hashed files under /assets/, cached for a year because a new build has new names. Files
 * are read once and kept: the whole bundle is a few hundred KB.
 */
export class StaticFiles {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly root: string = WEB_ROOT) {}

  async index(response: ServerResponse): Promise<void> {
    const body = await this.read('index.html');
    if (!body) {
      response.writeHead(503, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      response.end('the console page is not built: run `npm run build`\n');
      return;
    }
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(body);
  }

  /** False when `name` is no asset of the build (the caller answers 404). */
  async asset(name: string, response: ServerResponse): Promise<boolean> {
    const type = TYPES[extname(name)];
    if (!ASSET_NAME.test(name) || !type) return false;
    const body = await this.read(join('assets', name));
    if (!body) return false;
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
    response.end(body);
    return true;
  }

  private async read(relative: string): Promise<Buffer | undefined> {
    const cached = this.cache.get(relative);
    if (cached) return cached;
    try {
      const body = await readFile(join(this.root, relative));
      this.cache.set(relative, body);
      return body;
    } catch {
      return undefined;
    }
  }
}
