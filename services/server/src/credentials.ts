import { z } from 'zod';
import { sql } from '@tokenwatch/shared/storage/sql';
import { DAY_MS } from '@tokenwatch/shared/time';

/**
 * `tokenwatch credentials`: every credential each client minted with (credential_id, else the
 * assertion's kid; see 0012_credential_rollups.sql), with first and last use, networks and
 * age. The CLI runs CREDENTIALS_LIST through the read-only path and turns each row into a
 * CredentialReport here. New credentials that were routine rotations show up here too.
 */
export const CREDENTIALS_LIST = sql(import.meta.url, './credentials.sql');

/** Most credentials one command prints (--limit); narrow with --tenant and --client for more. */
export const MAX_CREDENTIALS = 10_000;

export const credentialRowSchema = z.object({
  tenant: z.string(),
  client_id: z.string(),
  credential_source: z.string(),
  credential: z.string(),
  auth_method: z.string(),
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  requests: z.coerce.number(),
  asns: z.array(z.coerce.number()),
  countries: z.array(z.string()),
});

export type CredentialRow = z.output<typeof credentialRowSchema>;

export interface CredentialReport {
  readonly tenant: string;
  readonly client_id: string;
  readonly credential: string;
  /** Which field named it: credential_id or assertion_kid. */
  readonly credential_source: string;
  readonly auth_method: string;
  readonly first_use: string;
  readonly last_use: string;
  /** Days from the first use to now. */
  readonly age_days: number;
  /** Days since the last use. */
  readonly idle_days: number;
  readonly requests: number;
  readonly networks: readonly number[];
  readonly countries: readonly string[];
}

export function credentialsParams(options: { limit: number; tenant?: string | undefined; client?: string | undefined }) {
  return { limit: options.limit, tenant: options.tenant ?? '', client: options.client ?? '' };
}

const days = (ms: number) => Math.max(0, Math.floor((ms / DAY_MS) * 10) / 10);

export function credentialReport(row: CredentialRow, now: number): CredentialReport {
  return {
    tenant: row.tenant,
    client_id: row.client_id,
    credential: row.credential,
    credential_source: row.credential_source,
    auth_method: row.auth_method,
    first_use: new Date(row.first_ms).toISOString(),
    last_use: new Date(row.last_ms).toISOString(),
    age_days: days(now - row.first_ms),
    idle_days: days(now - row.last_ms),
    requests: row.requests,
    networks: row.asns.filter((asn) => asn > 0),
    countries: row.countries,
  };
}

/** A credential as one readable line for the terminal, under its client's heading. */
export function renderCredentialPlain(credential: CredentialReport): string {
  const kind = credential.credential_source === 'assertion_kid' ? 'kid ' : '';
  return (
    `  ${kind}${credential.credential} (${credential.auth_method || 'unknown method'}): ${credential.first_use} → ${credential.last_use}, ` +
    `${credential.age_days} days old, idle ${credential.idle_days} days, ${credential.requests} requests; ` +
    `networks: ${credential.networks.map((asn) => `AS${asn}`).join(', ') || '-'}; countries: ${credential.countries.join(', ') || '-'}`
  );
}
