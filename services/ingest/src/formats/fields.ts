import type { AuthMethod } from '@tokenwatch/shared/events/token-request';
import { redactText } from '@tokenwatch/shared/redact';
import type { FormatName } from './types.js';
import { deadLetter, ok, skip, type Adapted, type DeadLetter, type Ok, type Candidate, type Skip } from '../results.js';

/** Small readers shared by the format adapters: vendor records are untyped JSON. */

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export const objectAt = (value: unknown): Json => (isObject(value) ? value : {});

/** A string with something in it, as is; vendors write "" for fields they have no value for. */
export const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** Cuts an optional text to the schema's bound rather than losing the whole event over it. */
export function clip(value: string | undefined, max: number): string | undefined {
  if (value === undefined || value.length <= max) return value;
  // Never cut a surrogate pair in two: the half left behind would make the text ill-formed.
  const last = value.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return value.slice(0, end);
}

/**
 * The longest scope list read, in characters: far more than any IdP grants (the schema's own
 * bound is 256 scopes), and what redaction reads of it at most. A longer list is cut there.
 */
export const SCOPES_TEXT_LIMIT = 8192;

/**
 * OAuth scopes (RFC 6749 §3.3: space-separated) from a string or an array of strings, each of
 * which may itself hold several; `commas` also splits on commas (Okta writes "a, b").
 * Duplicates are dropped; none at all is `undefined`, so a caller can fall back to another field.
 * Each text is redacted before it is split: split first, a `Bearer <token>` a client put in its
 * scope would become two innocent-looking scopes, the token one of them.
 */
export function scopesOf(value: unknown, { commas = false }: { commas?: boolean } = {}): string[] | undefined {
  const separator = commas ? /[\s,]+/ : /\s+/;
  const parts = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
  const split = parts.flatMap((part) => redactText(clip(part, SCOPES_TEXT_LIMIT) ?? '').split(separator));
  const scopes = [...new Set(split.filter((scope) => scope !== ''))];
  return scopes.length > 0 ? scopes : undefined;
}

/** The result of an adapter that made a candidate event; absent `raw`/`unknownAuthMethod` stay absent. */
export function candidate(event: Json, raw?: string, unknownAuthMethod?: string): Ok<Candidate> {
  // The canonical format's case, on every event: a literal, as ok()'s spread costs a microsecond.
  if (raw === undefined && unknownAuthMethod === undefined) return { kind: 'ok', event };
  return ok({ event, ...(raw === undefined ? {} : { raw }), ...(unknownAuthMethod === undefined ? {} : { unknownAuthMethod }) });
}

/** Skip and dead-letter results whose reasons start with the format's name. */
export function resultsFor(format: FormatName): { dlq: (reason: string) => DeadLetter; skip: (reason: string) => Skip } {
  return {
    dlq: (reason) => deadLetter(`${format}: ${reason}`),
    skip: (reason) => skip(`${format}: ${reason}`),
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
