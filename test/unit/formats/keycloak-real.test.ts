import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keycloakFormat } from '@tokenwatch/ingest/formats/keycloak';
import { UNKNOWN, UNSPECIFIED_IP, type AuthMethod, type TokenRequest } from '@tokenwatch/shared/events/token-request';
import { eventOf, validated } from '../../helpers/formats.js';

// What a real Keycloak logged (scripts/capture-keycloak-fixtures.mjs against infra/keycloak's
// demo realm; never edited by hand). cases.json names the version, each case's assertion jtis
// and every secret the run used.
const dir = new URL('../../fixtures/formats/keycloak/real-26.x/', import.meta.url);
interface CapturedCase {
  readonly name: string;
  readonly assertion_jtis: readonly string[];
}
const manifest = JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')) as {
  keycloak_version: string;
  cases: CapturedCase[];
  secrets: string[];
};
const records = (name: string): Record<string, unknown>[] =>
  readFileSync(new URL(`${name}.jsonl`, dir), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const jtiOf = (name: string): string => {
  const jti = manifest.cases.find((c) => c.name === name)?.assertion_jtis[0];
  if (jti === undefined) throw new Error(`case ${name} signed no assertion`);
  return jti;
};

interface Summary {
  readonly tenant: string;
  readonly client_id: string;
  readonly outcome: 'success' | 'failure';
  readonly auth_method: AuthMethod;
  readonly assertion_jti: string | undefined;
  readonly error_code: string | undefined;
  readonly replay_reported: boolean | undefined;
}

interface Stored {
  readonly event: TokenRequest;
  readonly raw: string | undefined;
}

/** Every record of a case through the adapter: the events it stores (server chatter is skipped, nothing is dead-lettered). */
function storedEvents(name: string): Stored[] {
  const stored: Stored[] = [];
  for (const record of records(name)) {
    expect(keycloakFormat.matches(record)).toBe(true);
    for (const result of keycloakFormat.adapt(record)) {
      if (result.kind === 'skip') continue;
      const { event, raw } = eventOf(result);
      stored.push({ event: validated(event), raw });
    }
  }
  return stored;
}

/** The fields the issue names, of the event a case stores. */
const summary = ({ event }: Stored): Summary => ({
  tenant: event.tenant,
  client_id: event.client_id,
  outcome: event.outcome,
  auth_method: event.auth_method,
  assertion_jti: event.assertion?.jti,
  error_code: event.error_code,
  replay_reported: event.replay_reported,
});

const event = (client: string, outcome: 'success' | 'failure', auth_method: AuthMethod, jti?: string, error_code?: string): Summary => ({
  tenant: 'demo',
  client_id: client,
  outcome,
  auth_method,
  assertion_jti: jti,
  error_code,
  replay_reported: undefined,
});

const EXPECTED: Readonly<Record<string, () => Summary[]>> = {
  'secret-basic-success': () => [event('svc-secret-basic', 'success', 'client_secret')],
  'secret-basic-wrong-secret': () => [event('svc-secret-basic', 'failure', 'unknown', undefined, 'invalid_client_credentials')],
  'secret-post-success': () => [event('svc-secret-post', 'success', 'client_secret')],
  'secret-post-wrong-secret': () => [event('svc-secret-post', 'failure', 'unknown', undefined, 'invalid_client_credentials')],
  'unknown-client': () => [event('svc-does-not-exist', 'failure', 'unknown', undefined, 'client_not_found')],
  'disabled-client': () => [event('svc-disabled', 'failure', 'unknown', undefined, 'client_disabled')],
  'private-key-jwt-success': () => [event('svc-jwt', 'success', 'private_key_jwt', jtiOf('private-key-jwt-success'))],
  'private-key-jwt-expired': () => [event('svc-jwt', 'failure', 'unknown', jtiOf('private-key-jwt-expired'), 'invalid_client_credentials')],
  'private-key-jwt-wrong-audience': () => [event('svc-jwt', 'failure', 'unknown', jtiOf('private-key-jwt-wrong-audience'), 'invalid_client_credentials')],
  'private-key-jwt-replay': () => replay('svc-jwt', 'private_key_jwt', jtiOf('private-key-jwt-replay')),
  'client-secret-jwt-success': () => [event('svc-secret-jwt', 'success', 'client_secret_jwt', jtiOf('client-secret-jwt-success'))],
  'client-secret-jwt-wrong-secret': () => [event('svc-secret-jwt', 'failure', 'unknown', jtiOf('client-secret-jwt-wrong-secret'), 'invalid_client_credentials')],
  'client-secret-jwt-replay': () => replay('svc-secret-jwt', 'client_secret_jwt', jtiOf('client-secret-jwt-replay')),
};

/** A replay logs: the first use's CLIENT_LOGIN, the `issuedFor 'null'` warning, the second use's CLIENT_LOGIN_ERROR. */
function replay(client: string, method: AuthMethod, jti: string): Summary[] {
  return [
    event(client, 'success', method, jti),
    { tenant: UNKNOWN, client_id: UNKNOWN, outcome: 'failure', auth_method: 'unknown', assertion_jti: jti, error_code: 'invalid_client', replay_reported: true },
    event(client, 'failure', 'unknown', jti, 'invalid_client_credentials'),
  ];
}

describe(`keycloak: what Keycloak ${manifest.keycloak_version} logged`, () => {
  it('has a fixture for every case the capture script runs, and an expectation for each', () => {
    expect(manifest.keycloak_version).toMatch(/^26\./);
    expect(manifest.cases.map((c) => c.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const { name } of manifest.cases) {
    it(`${name}: stores exactly the expected events`, () => {
      const expected = EXPECTED[name];
      if (expected === undefined) throw new Error(`no expectation for ${name}`);
      expect(storedEvents(name).map(summary)).toEqual(expected());
    });
  }

  it('keeps the assertion issuer and subject, and marks refused assertions unverified', () => {
    const [success] = storedEvents('private-key-jwt-success');
    expect(success?.event.assertion).toEqual({ jti: jtiOf('private-key-jwt-success'), iss: 'svc-jwt', sub: 'svc-jwt' });
    expect(success?.event.assertion_unverified).toBeUndefined();
    const [expired] = storedEvents('private-key-jwt-expired');
    expect(expired?.event.assertion).toMatchObject({ iss: 'svc-jwt', sub: 'svc-jwt' });
    expect(expired?.event.assertion_unverified).toBe(true);
  });

  it('stores the client-less replay warning with :: and grant unknown, what the line does not say', () => {
    const warning = storedEvents('private-key-jwt-replay')[1]?.event;
    expect(warning).toMatchObject({ source_ip: UNSPECIFIED_IP, grant_type: UNKNOWN, replay_reported: true });
  });

  for (const name of ['private-key-jwt-replay', 'client-secret-jwt-replay']) {
    it(`${name}: both uses of the assertion are stored with one realm, client and jti`, () => {
      const uses = storedEvents(name).filter(({ event }) => event.replay_reported !== true);
      expect(uses.map(({ event }) => event.outcome)).toEqual(['success', 'failure']);
      expect(new Set(uses.map(({ event }) => `${event.tenant}/${event.client_id}/${event.assertion?.jti}`)).size).toBe(1);
      expect(uses[0]?.event.assertion?.jti).toBe(jtiOf(name));
    });
  }

  it('stores no secret of the run (client secrets, assertions or their signatures) in any field or in raw', () => {
    const pieces = manifest.secrets.flatMap((secret) => [secret, ...secret.split('.').filter((part) => part.length > 16)]);
    expect(pieces.length).toBeGreaterThan(10);
    for (const { name } of manifest.cases) {
      for (const { event, raw } of storedEvents(name)) {
        const stored = `${JSON.stringify(event)}\n${raw ?? ''}`;
        for (const piece of pieces) expect(stored.includes(piece), `${name} stores part of a secret`).toBe(false);
      }
    }
  });
});
