import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage, QueryError } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { removeDiscovery, writeDiscovery } from './discovery.js';
import { operatorActionSchema, runOperatorAction } from './operator-action.js';
import { runReadOnlyQuery, sqlRequestSchema, type ReadOnlyConnection } from './read-only-query.js';

const MAX_BODY_BYTES = 1_100_000;

export interface QueryServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * chDB lets one process open a data directory. The process that holds it serves read-only
 * SQL on loopback so `tokenwatch sql` works while the service runs. It listens on
 * 127.0.0.1 only, requires the token from the discovery file, and runs every query with
 * runReadOnlyQuery's limits.
 *
 * With a `writer` (the service's own client) it also serves POST /action: the typed operator
 * actions of operator-action.ts (add or remove a watch, store ioc_match alerts, triage an
 * alert), never SQL.
 * The two paths share nothing but the token: /query runs only on the read-only connection.
 */
export async function startQueryServer(options: {
  clickhouse: ReadOnlyConnection;
  writer?: ClickHouseClient;
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<QueryServer> {
  const token = randomBytes(24).toString('hex');
  const server = createServer((request, response) => {
    void (async () => {
      const path = request.method === 'POST' ? request.url : undefined;
      if (path !== '/query' && !(path === '/action' && options.writer)) {
        response.writeHead(404).end('not found\n');
        return;
      }
      if (request.headers.authorization !== `Bearer ${token}`) {
        response.writeHead(401).end('missing or wrong token\n');
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch (error) {
        response.writeHead(400).end(`bad request: ${errorMessage(error)}\n`);
        return;
      }
      if (path === '/action' && options.writer) {
        await serveAction(options.writer, options.logger, body, response);
        return;
      }
      const parsed = sqlRequestSchema.safeParse(body);
      if (!parsed.success) {
        response.writeHead(400).end(`bad request: ${parsed.error.issues[0]?.message ?? 'invalid body'}\n`);
        return;
      }
      let result: Readable;
      try {
        result = await runReadOnlyQuery(options.clickhouse, parsed.data);
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        response.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' }).end(`${error.message}\n`);
        return;
      }
      // Streamed, not buffered: the response holds no second copy of the result. A failure
      // after the 200 (a server engine's mid-stream error) aborts the response, and the client
      // reports the cut-off body instead of printing it as complete.
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      await pipeline(result, response);
    })().catch((error: unknown) => {
      options.logger.error({ err: errorMessage(error) }, 'query server request failed');
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });
  await listen(server, options.port);
  const { port } = server.address() as AddressInfo;
  writeDiscovery(options.dataDir, { pid: process.pid, port, token });
  options.logger.info({ port }, 'serving read-only SQL on loopback for `tokenwatch sql`');
  return {
    port,
    close: async () => {
      removeDiscovery(options.dataDir, process.pid);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One operator action: 200 with its JSON result, 400 for a body that is no action, 422 for a refused one. */
async function serveAction(writer: ClickHouseClient, logger: Logger, body: unknown, response: ServerResponse): Promise<void> {
  const parsed = operatorActionSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    response.writeHead(400).end(`bad request: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body'}\n`);
    return;
  }
  try {
    const result = await runOperatorAction(writer, logger, parsed.data);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    response.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' }).end(`${error.message}\n`);
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
