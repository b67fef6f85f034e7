import { DependencyError, errorMessage, QueryError } from '@tokenwatch/shared/errors';
import type { QueryServerAddress } from './discovery.js';
import type { SqlRequest } from './read-only-query.js';

/** Sends a query to another tokenwatch process's query server and returns its output. */
export async function queryThroughServer(address: QueryServerAddress, request: SqlRequest): Promise<string> {
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
  const text = await response.text();
  if (response.status === 422) throw new QueryError(text.trim());
  if (!response.ok) throw new DependencyError(`query server answered ${response.status}: ${text.trim()}`);
  return text;
}
