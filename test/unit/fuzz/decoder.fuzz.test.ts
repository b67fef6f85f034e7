import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, type FormatChoice } from '@tokenwatch/ingest/decode';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { redactText } from '@tokenwatch/shared/redact';
import type { FormatAdapter } from '@tokenwatch/ingest/formats/types';
import { checkResults, hostileString, illFormed, jsonFixtures, logFixture, mutate, mutations, plainHostileString, secretText } from './hostile.js';
import { readRow } from '../../helpers/stored-row.js';

/**
 * Property-based tests of the decoder and every format adapter: whatever a producer sends, a
 * decode never throws, every record ends as ok, dlq or skip, nothing ill-formed is stored and no
 * planted credential survives into the stored line, its raw copy or a dead-letter reason.
 * Runs are few (a few seconds in all; FUZZ_RUNS sets more); a failure prints the seed and the shrunk input.
 */

// FUZZ_RUNS=2000 for a deeper local search; CI keeps the default. FUZZ_SEED replays a failure's seed.
const RUNS = {
  numRuns: Number(process.env.FUZZ_RUNS ?? 60),
  ...(process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }),
};
const decode = (input: string | Buffer, format: FormatChoice = 'auto') => decodeMessage(input, { adapters: FORMATS, format });
const adapterNamed = (name: string): FormatAdapter => {
  const adapter = FORMATS.find((candidate) => candidate.name === name);
  if (!adapter) throw new Error(`no adapter ${name}`);
  return adapter;
};

describe('fuzz: any bytes', () => {
  it('decodes arbitrary text, JSON and bytes to results, auto-detected or forced into any format', () => {
    const input = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    );
    const format = fc.constantFrom<FormatChoice>('auto', ...FORMATS.map((adapter) => adapter.name));
    fc.assert(
      fc.property(input, format, (bytes, chosen) => checkResults(decode(bytes, chosen))),
      RUNS,
    );
  });
});

const JSON_FORMATS = ['canonical-events', 'okta', 'auth0', 'entra', 'cognito', 'oidc-provider', 'keycloak'] as const;

/** The canonical format has no fixture folder: a few valid events, one with every field. */
const CANONICAL_EVENTS: unknown[] = [
  {
    event_id: 'evt-1',
    time: '2026-11-28T01:02:03Z',
    idp: 'okta',
    tenant: 'acme',
    client_id: 'svc-orders',
    client_name: 'Orders',
    grant_type: 'client_credentials',
    auth_method: 'private_key_jwt',
    credential_id: 'kid-1',
    outcome: 'failure',
    error_code: 'invalid_client',
    source_ip: '203.0.113.7',
    user_agent: 'curl/8.0',
    scopes: ['orders.read'],
    audience: 'https://api.example.com',
    assertion: { jti: 'j-1', iat: 1795827783, exp: 1795827843, iss: 'svc', sub: 'svc', aud: ['https://idp'], kid: 'k', alg: 'RS256' },
    replay_reported: false,
    geo: { country: 'DE', city: 'Berlin', asn: 64500, as_org: 'Example' },
  },
  { event_id: 'evt-2', time: 1795827783000, idp: 'generic', tenant: 't', client_id: 'c', grant_type: 'client_credentials', auth_method: 'none', outcome: 'success', source_ip: '::1' },
];

describe.each(JSON_FORMATS)('fuzz: %s records with hostile fields', (format) => {
  const records = format === 'canonical-events' ? CANONICAL_EVENTS : jsonFixtures(format);
  const name = format === 'canonical-events' ? 'canonical' : format;

  it('decodes every mutation of every fixture, auto-detected and forced', () => {
    fc.assert(
      fc.property(fc.constantFrom(...records), mutations, fc.boolean(), (record, changes, forced) => {
        const mutated = JSON.stringify(mutate(record, changes));
        checkResults(decode(mutated, forced ? name : 'auto'));
      }),
      RUNS,
    );
  });

  it('never throws from the adapter itself and gives every record a result', () => {
    const adapter = adapterNamed(name);
    fc.assert(
      fc.property(fc.constantFrom(...records), mutations, (record, changes) => {
        const mutated = mutate(record, changes);
        if (typeof mutated !== 'object' || mutated === null || Array.isArray(mutated)) return;
        const results = adapter.adapt(mutated as Record<string, unknown>);
        expect(results.length).toBeGreaterThan(0);
        for (const result of results) expect(['ok', 'dlq', 'skip']).toContain(result.kind);
      }),
      RUNS,
    );
  });
});

describe('fuzz: lone surrogates', () => {
  const event = CANONICAL_EVENTS[0] as Record<string, unknown>;

  it('refuses an identifier holding one, naming the field', () => {
    const identifiers = ['event_id', 'tenant', 'client_id', 'grant_type', 'credential_id', 'audience'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...identifiers), illFormed, (field, value) => {
        const [result] = decode(JSON.stringify({ ...event, [field]: value }));
        expect(result).toMatchObject({ kind: 'dlq', reason: expect.stringContaining(`${field}: holds a lone UTF-16 surrogate`) });
      }),
      RUNS,
    );
  });

  // The stored text is also redacted ("key:\ud800" becomes "key:[REDACTED]"), so the expectation is too.
  it('stores free text holding one with U+FFFD in its place', () => {
    const freeText = ['client_name', 'error_code', 'user_agent'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...freeText), illFormed, (field, value) => {
        const [result] = decode(JSON.stringify({ ...event, [field]: value }));
        if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
        const stored = readRow(result.line)[field];
        expect(stored).toBe(redactText(value.toWellFormed()));
        checkResults([result]);
      }),
      RUNS,
    );
  });
});

/** Pieces of Keycloak log lines: prefixes, the replay warning's fixed text, MDC blocks, key=value syntax. */
const LINE_PIECES = [
  '2026-11-28 01:02:03,456 ',
  '2026-11-28T01:02:03.456+01:00 ',
  'WARN  [org.keycloak.events] (executor-thread-1) ',
  '{kc.realmName=acme, kc.clientId=svc, kc.ipAddress=10.0.0.1} ',
  '{kc.clientId=',
  '} INFO  [',
  "Token '",
  "' already used when for issuedFor '",
  "' already used when authenticating client '",
  "'.",
  'type="CLIENT_LOGIN", realmId="r", ',
  'type=CLIENT_LOGIN_ERROR, realmId=r, ',
  'operationType="CREATE", realmId="r", ',
  'realmName="acme", clientId="svc", ipAddress="10.1.2.3", ',
  'grant_type="client_credentials", client_auth_method="client-secret", ',
  'error="invalid_client", ',
  'scope="',
  'cookies=[',
  '"',
  "'",
  '\\"',
  ', ',
  '=',
  ']',
  ' ',
  '\r',
  '\n',
  '\u2028',
  '\ufeff',
];

// A credential as a log line would hold it: after a separator (a credential glued to the word
// before it, `trefresh_token: …`, is no longer one the patterns know).
const lineSecret = secretText.map((secret) => ` ${secret}`);
const linePiece = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...LINE_PIECES) }, plainHostileString);
const FIXTURE_LINES = [...logFixture('jboss-logging.log'), ...logFixture('replay-warning.log')];

const insertAt = (text: string, at: number, piece: string): string => {
  const offset = at % (text.length + 1);
  return `${text.slice(0, offset)}${piece}${text.slice(offset)}`;
};

/**
 * A fixture line with pieces inserted at arbitrary offsets, or a line made of pieces only; the
 * credential, if any, goes in last, so no later piece lands inside it.
 */
const keycloakLine = fc
  .tuple(
    fc.oneof(
      fc
        .tuple(fc.constantFrom(...FIXTURE_LINES), fc.array(fc.tuple(fc.nat(), linePiece), { minLength: 1, maxLength: 5 }))
        .map(([line, inserts]) => inserts.reduce((text, [at, piece]) => insertAt(text, at, piece), line)),
      fc.array(linePiece, { maxLength: 24 }).map((pieces) => pieces.join('')),
    ),
    fc.option(fc.tuple(fc.nat(), lineSecret), { nil: undefined }),
  )
  .map(([line, secret]) => (secret === undefined ? line : insertAt(line, secret[0], secret[1])));

describe('fuzz: Keycloak log lines', () => {
  it('decodes hostile text lines, one or several to a message', () => {
    fc.assert(
      fc.property(fc.array(keycloakLine, { minLength: 1, maxLength: 3 }), fc.boolean(), (lines, forced) => {
        checkResults(decode(lines.join('\n'), forced ? 'keycloak' : 'auto'));
      }),
      RUNS,
    );
  });

  it('decodes hostile lines as the message of a Quarkus JSON log record', () => {
    const mdc = fc.option(fc.dictionary(fc.constantFrom('kc.realmName', 'kc.clientId', 'kc.ipAddress'), hostileString), { nil: undefined });
    fc.assert(
      fc.property(keycloakLine, mdc, (message, context) => {
        const record = {
          timestamp: '2026-11-28T01:02:03.456Z',
          level: 'WARN',
          loggerName: 'org.keycloak.events',
          message,
          ...(context === undefined ? {} : { mdc: context }),
        };
        checkResults(decode(JSON.stringify(record)));
      }),
      RUNS,
    );
  });
});
