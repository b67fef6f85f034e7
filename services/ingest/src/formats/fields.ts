import type { AuthMethod } from '@tokenwatch/shared/events/token-request';
import type { Adapted, FormatName } from './types.js';

/** Small readers shared by the format adapters: vendor records are untyped JSON. */

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export const objectAt = (value: unknown): Json => (isObject(value) ? value : {});

/** A string with something in it, as is; vendors write "" for fields they have no value for. */
export const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** Cuts an optional text to the schema's bound rather than losing the whole event over it. */
export function clip(value: string | undefined, max: number): string | undefined {
  if (value === undefined || value.length <= max) return value;
  const end = /[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}

/** Skip and dead-letter results whose reasons start with the format's name. */
export function resultsFor(format: FormatName): { dlq: (reason: string) => Adapted; skip: (reason: string) => Adapted } {
  return {
    dlq: (reason) => ({ kind: 'dlq', reason: `${format}: ${reason}` }),
    skip: (reason) => ({ kind: 'skip', reason: `${format}: ${reason}` }),
  };
}

/** The registered OAuth token_endpoint_auth_method names, which are also the canonical ones. */
export const OAUTH_AUTH_METHODS: Readonly<Record<string, AuthMethod>> = {
  client_secret_basic: 'client_secret_basic',
  client_secret_post: 'client_secret_post',
  client_secret_jwt: 'client_secret_jwt',
  private_key_jwt: 'private_key_jwt',
  tls_client_auth: 'tls_client_auth',
  self_signed_tls_client_auth: 'self_signed_tls_client_auth',
  none: 'none',
};
