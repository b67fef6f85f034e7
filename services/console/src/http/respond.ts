import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Headers on every console response. The page runs only its own bundled script and styles
 * (no inline script, nothing from elsewhere: the machines it runs on may be offline, and an
 * injected alert text must never run), cannot be framed, and sends no referrer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(`${JSON.stringify(body)}\n`);
}

/** An error answer: `error` says what was wrong in words a person can act on. */
export function sendError(response: ServerResponse, status: number, error: string): void {
  sendJson(response, status, { error });
}

/**
 * A page a browser navigated to (the IdP's callback) that cannot go on: the reason in words and
 * a link back, no script. The reason is escaped: parts of it may come from the address bar.
 */
export function sendPage(response: ServerResponse, status: number, title: string, reason: string, headers: Readonly<Record<string, string | string[]>> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>tokenwatch: ${escapeHtml(title)}</title></head>` +
      `<body><main><h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(reason)}</p><p><a href="/">Back to the console</a></p></main></body></html>\n`,
  );
}

/** 303 See Other: the browser follows with a GET, whatever brought it here. */
export function redirect(response: ServerResponse, location: string, headers: Readonly<Record<string, string | string[]>> = {}): void {
  response.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', ...headers });
  response.end();
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Request bodies are small JSON objects (a login token, an action with a note). */
export const MAX_BODY_BYTES = 16 * 1024;

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * The request's JSON body, at most MAX_BODY_BYTES. Only `application/json`: a cross-site HTML
 * form cannot send that content type without a CORS preflight, which this server never grants.
 */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new BadRequest('expected Content-Type: application/json', 415);
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw new BadRequest(`the body is larger than ${MAX_BODY_BYTES} bytes`, 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`the body is larger than ${MAX_BODY_BYTES} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

/** One cookie's value from the Cookie header (bounded by Node's header size limit). */
export function cookieValue(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
