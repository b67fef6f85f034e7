import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DependencyError, errorMessage, QueryError } from '@tokenwatch/shared/errors';
import { safeJson, type QueryServerAddress } from './discovery.js';
import { operatorResultSchema, type OperatorAction, type OperatorResult } from './operator-action.js';
import type { SqlRequest } from './read-only-query.js';

/** Longest error text read from the server; a refusal or engine message is one line. */
const MAX_ERROR_CHARS = 4_096;

/**
 * Sends a query to another tokenwatch process's query server and returns its output as a
 * stream, so that a large result passes through this process without being held whole.
 */
export async function queryThroughServer(address: QueryServerAddress, request: SqlRequest): Promise<Readable> {
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${address.port}/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${address.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (error) {
    throw new DependencyError(`cannot reach the query server of tokenwatch process ${address.pid}: ${errorMessage(error)}`);
  }
  if (!response.ok || !response.body) {
    const text = (await response.text()).slice(0, MAX_ERROR_CHARS).trim();
    if (response.status === 422) throw new QueryError(text);
    throw new DependencyError(`query server answered ${response.status}: ${text}`);
  }
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  // A body cut off by the server (it failed after the 200) must not read as a complete result:
  // the reader gets an error that says so, in one line.
  const output = new PassThrough();
  body.on('error', (error) => output.destroy(new DependencyError(`the query server's answer broke off: ${errorMessage(error)}`)));
  return body.pipe(output);
}

/** Sends one operator action (operator-action.ts) to the running process; its answer, checked. */
export async function actionThroughServer(address: QueryServerAddress, action: OperatorAction): Promise<OperatorResult> {
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${address.port}/action`, {
      method: 'POST',
      headers: { authorization: `Bearer ${address.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(action),
    });
  } catch (error) {
    throw new DependencyError(`cannot reach the query server of tokenwatch process ${address.pid}: ${errorMessage(error)}`);
  }
  const text = (await response.text()).slice(0, 1_000_000);
  if (response.status === 422) throw new QueryError(text.slice(0, MAX_ERROR_CHARS).trim());
  if (response.status === 404) throw new DependencyError(`tokenwatch process ${address.pid} does not take operator actions: restart it with this version`);
  if (!response.ok) throw new DependencyError(`query server answered ${response.status}: ${text.slice(0, MAX_ERROR_CHARS).trim()}`);
  const parsed = operatorResultSchema.safeParse(safeJson(text));
  if (!parsed.success) throw new DependencyError(`the query server's answer to ${action.action} is not what was expected`);
  return parsed.data;
}
