import { isIPv4 } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TokenRequest } from '../events/token-request.js';
import { DependencyError, errorMessage } from '../errors.js';
import { insertJsonEachRow, sql } from './sql.js';

const INSERT_TOKEN_REQUESTS = sql(import.meta.url, './insert-token-requests.sql');
const STORED_EVENT_IDS = sql(import.meta.url, './stored-event-ids.sql');

/** One row of `token_requests` as sent in JSONEachRow (see migrations/0001_token_requests.sql). */
export interface TokenRequestRow {
  event_id: string;
  time: string;
  idp: string;
  tenant: string;
  client_id: string;
  client_name: string;
  grant_type: string;
  auth_method: string;
  credential_id: string;
  outcome: string;
  error_code: string;
  source_ip: string;
  user_agent: string;
  scopes: string[];
  audience: string;
  assertion_jti: string;
  assertion_iat: number | null;
  assertion_exp: number | null;
  assertion_iss: string;
  assertion_sub: string;
  assertion_aud: string;
  assertion_kid: string;
  assertion_alg: string;
  replay_reported: boolean;
  country: string;
  city: string;
  asn: number;
  as_org: string;
}

/** ClickHouse's DateTime64 text form, UTC: `2026-11-28 01:02:03.456`. */
export function toClickHouseTime(epochMillis: number): string {
  return new Date(epochMillis).toISOString().slice(0, 23).replace('T', ' ');
}

export function toRow(event: TokenRequest): TokenRequestRow {
  const assertion = event.assertion;
  return {
    event_id: event.event_id,
    time: toClickHouseTime(event.time),
    idp: event.idp,
    tenant: event.tenant,
    client_id: event.client_id,
    client_name: event.client_name ?? '',
    grant_type: event.grant_type,
    auth_method: event.auth_method,
    credential_id: event.credential_id ?? '',
    outcome: event.outcome,
    error_code: event.error_code ?? '',
    // One column type for both families: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
    source_ip: isIPv4(event.source_ip) ? `::ffff:${event.source_ip}` : event.source_ip,
    user_agent: event.user_agent ?? '',
    scopes: event.scopes,
    audience: event.audience ?? '',
    assertion_jti: assertion?.jti ?? '',
    assertion_iat: assertion?.iat ?? null,
    assertion_exp: assertion?.exp ?? null,
    assertion_iss: assertion?.iss ?? '',
    assertion_sub: assertion?.sub ?? '',
    assertion_aud: Array.isArray(assertion?.aud) ? assertion.aud.join(' ') : (assertion?.aud ?? ''),
    assertion_kid: assertion?.kid ?? '',
    assertion_alg: assertion?.alg ?? '',
    replay_reported: event.replay_reported ?? false,
    country: event.geo?.country ?? '',
    city: event.geo?.city ?? '',
    asn: event.geo?.asn ?? 0,
    as_org: event.geo?.as_org ?? '',
  };
}

export interface InsertOptions {
  /**
   * Identifies the batch, e.g. `topic:partition:first-last`. A retry with the same token is
   * dropped by ClickHouse, so retrying after an ambiguous failure cannot store a block twice.
   */
  readonly dedupToken: string;
  readonly retries?: number;
}

/**
 * Inserts rows, retrying transient failures with the same deduplication token.
 * Gives up with a DependencyError after the retries so the caller does not commit offsets.
 */
export async function insertTokenRequests(
  client: ClickHouseClient,
  rows: readonly TokenRequestRow[],
  { dedupToken, retries = 4 }: InsertOptions,
): Promise<void> {
  if (rows.length === 0) return;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await insertJsonEachRow(client, INSERT_TOKEN_REQUESTS, rows, { dedup_token: dedupToken });
      return;
    } catch (error) {
      if (attempt >= retries) {
        throw new DependencyError(`ClickHouse insert into token_requests failed after ${attempt + 1} attempts: ${errorMessage(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** Which of these event ids are already stored (for import's duplicate count). */
export async function findStoredEventIds(client: ClickHouseClient, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const result = await client.query({ query: STORED_EVENT_IDS, query_params: { ids: eventIds }, format: 'JSONEachRow' });
  const rows = await result.json<{ event_id: string }>();
  return new Set(rows.map((row) => row.event_id));
}
