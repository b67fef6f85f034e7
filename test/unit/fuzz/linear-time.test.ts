import { describe, expect, it } from 'vitest';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { MAX_LINE_LENGTH } from '@tokenwatch/ingest/formats/keycloak';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { redactRecord, redactText } from '@tokenwatch/shared/redact';
import { checkResults } from './hostile.js';

/**
 * The decoder's time is linear in its input: each shape below is built at 64 KiB and at 1 MiB,
 * the shapes that made the old patterns backtrack (Keycloak's `Token '(.*?)'` took 5.7 s on a
 * 256 KB line) among them. Measured in CPU time of this process, not wall-clock, so a loaded
 * machine slows both sizes alike: the 1 MiB case must stay under a second (the old Keycloak
 * patterns needed several on these inputs even split into 64 KiB lines) and within 40 times the
 * 64 KiB case (16 times is linear; quadratic would be 256).
 */

const SMALL = 64 * 1024;
const LARGE = 1024 * 1024;
const PREFIX = '2026-11-28 01:02:09,314 WARN  [org.keycloak.authentication.authenticators.client.JWTClientValidator] (executor-thread-6) ';

/** Keycloak log lines made by `line` (given the room it has) until they hold `size` characters. */
function logLines(size: number, line: (room: number) => string): string {
  const lines: string[] = [];
  let total = 0;
  while (total < size) {
    const text = line(Math.min(MAX_LINE_LENGTH, size - total) - PREFIX.length - 64);
    lines.push(text);
    total += text.length + 1;
  }
  return lines.join('\n');
}

const fill = (unit: string, room: number): string => unit.repeat(Math.max(1, Math.floor(room / unit.length)));

/** A JSON array of records built by `record` until it holds `size` characters. */
function jsonArray(size: number, record: (index: number) => unknown): string {
  const parts: string[] = [];
  let total = 2;
  for (let index = 0; total < size; index += 1) {
    const text = JSON.stringify(record(index));
    parts.push(text);
    total += text.length + 1;
  }
  return `[${parts.join(',')}]`;
}

const SHAPES: Record<string, (size: number) => string> = {
  // REPLAY_LINE's lazy jti: many openings, no marker.
  'keycloak: replay openings without a marker': (size) => logLines(size, (room) => `${PREFIX}${fill(" Token 'x", room)}'.`),
  // Many openings and markers, the closing quote never where it should be.
  'keycloak: replay markers without a closing quote': (size) =>
    logLines(size, (room) => `${PREFIX}${fill(" Token 'j' already used when for issuedFor 'c", room)} x`),
  // MDC_BLOCK's lazy body: many `{key=` openings, no `} LEVEL [`.
  'keycloak: MDC openings without a close': (size) =>
    logLines(size, (room) => `2026-11-28 01:02:12,250 ${fill('{a=b', room)} Token 'j' already used when for issuedFor 'svc'.`),
  // Many `}` candidates after one opening, none followed by a level.
  'keycloak: MDC closes without a level': (size) =>
    logLines(size, (room) => `2026-11-28 01:02:12,250 {kc.a=${fill('} x', room)} Token 'j' already used when for issuedFor 'svc'.`),
  // A quoted value of escaped quotes, never closed.
  'keycloak: escaped quotes in an unterminated value': (size) =>
    logLines(size, (room) => `${PREFIX}type="CLIENT_LOGIN", realmId="${fill('\\"', room)}`),
  // Many bare key=value pairs.
  'keycloak: many bare pairs': (size) => logLines(size, (room) => `${PREFIX}type=CLIENT_LOGIN, realmId=r, ${fill('a=b, ', room)}z=1`),
  // Candidate timestamps in the prefix.
  'keycloak: timestamp look-alikes in the prefix': (size) =>
    logLines(size, (room) => `${fill('2026-11-28 01:02:0', room)} Token 'j' already used when for issuedFor 'svc'.`),
  // One line over the bound: refused by its length, not scanned.
  'keycloak: one line over the bound': (size) => `${PREFIX}${fill(" Token 'x", size)}`,
  // The same in Quarkus JSON log records.
  'keycloak: JSON log records with replay openings': (size) =>
    jsonArray(size, (index) => ({
      timestamp: '2026-11-28T01:02:03.456Z',
      loggerName: 'org.keycloak.services',
      message: `Token '${index}${" Token 'x".repeat(1000)}`,
    })),
  'okta: long comma-separated scopes and user agents': (size) =>
    jsonArray(size, (index) => ({
      uuid: `u-${index}`,
      published: '2026-11-28T01:02:03.000Z',
      eventType: 'app.oauth2.as.token.grant.access_token',
      actor: { id: 'svc', type: 'PublicClientApp' },
      client: { ipAddress: '203.0.113.9', userAgent: { rawUserAgent: 'a.'.repeat(4000) } },
      debugContext: { debugData: { grantType: 'client_credentials', grantedScopes: 'a, '.repeat(3000) } },
    })),
  'auth0: long descriptions and scope arrays': (size) =>
    jsonArray(size, (index) => ({
      log_id: `l-${index}`,
      type: 'feccft',
      date: '2026-11-28T01:02:03.000Z',
      tenant_name: 't',
      client_id: 'c',
      ip: '203.0.113.9',
      description: ' '.repeat(8000),
      scope: Array.from({ length: 200 }, (_, i) => `s${i} `.repeat(5)),
    })),
  'cognito: a CloudTrail log file': (size) =>
    JSON.stringify({
      Records: JSON.parse(
        jsonArray(size, (index) => ({
          eventSource: 'cognito-idp.amazonaws.com',
          eventName: 'Token_POST',
          eventTime: '2026-11-28T01:02:03Z',
          eventID: `e-${index}`,
          sourceIPAddress: '203.0.113.9',
          additionalEventData: { userPoolId: 'pool', requestParameters: { grant_type: ['client_credentials'], client_id: ['c'], scope: ['x '.repeat(500)] } },
        })),
      ) as unknown,
    }),
  'entra: records with long resource ids': (size) =>
    JSON.stringify({
      records: JSON.parse(
        jsonArray(size, (index) => ({
          category: 'ServicePrincipalSignInLogs',
          resourceId: '/providers/x'.repeat(300),
          time: '2026-11-28T01:02:03Z',
          tenantId: 't',
          resultType: '0',
          properties: { id: `i-${index}`, appId: 'a', ipAddress: '203.0.113.9' },
        })),
      ) as unknown,
    }),
  'unknown format: long keys': (size) => JSON.stringify({ [`${'k'.repeat(size / 2)}`]: 1, [`${'j'.repeat(size / 2)}`]: 2 }),
  'not JSON: quotes everywhere': (size) => `"${'"x'.repeat(size / 2)}`,
  'canonical: nesting at the bound': (size) =>
    jsonArray(size, (index) => {
      let nested: unknown = index;
      for (let depth = 0; depth < 30; depth += 1) nested = [nested];
      return { event_id: `e${index}`, idp: 'generic', deep: nested, note: 'n'.repeat(1000) };
    }),
};

/** CPU time of the decode in ms: the fastest of `runs`, so a GC pause or a busy neighbour counts less. */
function cpuMs(input: string, runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run += 1) {
    const started = process.cpuUsage();
    const results = decodeMessage(input, { adapters: FORMATS, format: 'auto' });
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
    if (run === 0) checkResults(results);
  }
  return best;
}

describe('the decoder runs in linear time', () => {
  it.each(Object.keys(SHAPES))('%s', (name) => {
    const shape = SHAPES[name] as (size: number) => string;
    const small = shape(SMALL);
    const large = shape(LARGE);
    expect(large.length).toBeGreaterThan(LARGE * 0.9);
    const smallMs = cpuMs(small, 2);
    const largeMs = cpuMs(large, 1);
    if (process.env.FUZZ_TIMES) process.stdout.write(`${name}: 64 KiB ${smallMs.toFixed(1)} ms, 1 MiB ${largeMs.toFixed(1)} ms CPU\n`);
    // A floor for the small case: a few ms are too few to divide by.
    expect(largeMs, `1 MiB took ${largeMs.toFixed(1)} ms of CPU, 64 KiB ${smallMs.toFixed(1)} ms`).toBeLessThan(
      Math.min(1000, 40 * Math.max(smallMs, 5)),
    );
  });
});

/**
 * Redaction sees whole dead-lettered messages and rejects, so it must be linear too: the shapes
 * below made the earlier patterns backtrack (`eyJ` runs took 5.7 s at 64 KB, `scheme://` look-
 * alikes 3 s) or repeat a key scan (`a=a=a=…`).
 */
const REDACTION_SHAPES: Record<string, (size: number) => string> = {
  'JWT openings without segments': (size) => 'eyJ'.repeat(size / 3),
  'URL-credential look-alikes after a keyword': (size) => `code ${'a.'.repeat(size / 2)}`,
  'key=value chains': (size) => 'a='.repeat(size / 2),
  'Bearer without a value': (size) => 'Bearer '.repeat(size / 7),
  'JWT headers without payloads': (size) => 'eyJhbGciOiJIUzI1NiJ9.'.repeat(size / 21),
  'secret keys without values': (size) => 'token: '.repeat(size / 7),
  'quoted secret keys never closed': (size) => '"secret":"'.repeat(size / 10),
};

function redactionCpuMs(input: string, runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run += 1) {
    const started = process.cpuUsage();
    redactText(input);
    redactRecord(input);
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

describe('redaction runs in linear time', () => {
  it.each(Object.keys(REDACTION_SHAPES))('%s', (name) => {
    const shape = REDACTION_SHAPES[name] as (size: number) => string;
    const smallMs = redactionCpuMs(shape(SMALL), 2);
    const largeMs = redactionCpuMs(shape(LARGE), 1);
    expect(largeMs, `1 MiB took ${largeMs.toFixed(1)} ms of CPU, 64 KiB ${smallMs.toFixed(1)} ms`).toBeLessThan(
      Math.min(1000, 40 * Math.max(smallMs, 5)),
    );
  });
});
