import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { text as streamText } from 'node:stream/consumers';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { classifyBatch } from '@tokenwatch/ingest/classify';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { stuffEverywhere } from '../helpers/formats.js';
import { createTopic, produce, readTopic, waitForConsumed } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Secrets stuffed everywhere they can hide in every format's records, valid and malformed,
 * sent through the real worker: none may reach ClickHouse, the dead-letter topic (values or
 * headers) or the worker's own logs at the most verbose level.
 */
const CLIENT_SECRET = 'Sup3r-S3cret-client-value-4471';
const PASSWORD = 'hunter2-pa55word-9931';
const REFRESH_TOKEN = 'rt-8f0c2e9a4b7d41e6a2b5';
const BASIC = Buffer.from(`svc-orders:${CLIENT_SECRET}`).toString('base64');
const JWT_SIGNATURE = 'c2lnbmF0dXJlLW11c3QtbmV2ZXItYmUtc3RvcmVk';
const ASSERTION = `eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJzdmMiLCJqdGkiOiJqLTEifQ.${JWT_SIGNATURE}`;
const SECRETS = [CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, BASIC, JWT_SIGNATURE, ASSERTION];

/** Adds credential-bearing fields to every object in a record, at every depth. */
const stuff = (value: unknown): unknown =>
  stuffEverywhere(value, {
    client_secret: CLIENT_SECRET,
    client_assertion: ASSERTION,
    password: PASSWORD,
    refresh_token: REFRESH_TOKEN,
    headers: { Authorization: `Basic ${BASIC}`, Cookie: `session=${REFRESH_TOKEN}` },
  });

/**
 * Credentials inside the free text adapters do map: a user agent, a client name, an error, a
 * scope list. Appended to the vendor's value, so the record stays valid and its event is stored:
 * only redaction of the validated event (decode) keeps them out of ClickHouse. Scopes split on
 * spaces, so they get a JWT, which is recognisable on its own; the rest a `Bearer` value or a
 * form-encoded secret, which are not.
 */
const IN_TEXT = ` Bearer ${REFRESH_TOKEN} client_secret=${CLIENT_SECRET}`;
const IN_SCOPES = ` ${ASSERTION}`;
const TEXT_KEYS = new Set(['user_agent', 'userAgent', 'rawUserAgent', 'client_name', 'displayName', 'audience', 'error', 'reason']);
const SCOPE_KEYS = new Set(['scope', 'requestedScopes', 'grantedScopes']);

function taint(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return TEXT_KEYS.has(key) ? `${value}${IN_TEXT}` : SCOPE_KEYS.has(key) ? `${value}${IN_SCOPES}` : value;
  if (Array.isArray(value)) return value.map((item) => taint(item, key));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([inner, item]) => [inner, taint(item, inner)]));
}

/** A canonical event whose every free-text field carries a credential. */
const taintedCanonical = (i: number) =>
  canonicalEvent(i, {
    client_name: `service ${i}${IN_TEXT}`,
    user_agent: `okhttp/4.12.0${IN_TEXT}`,
    audience: `https://api.example.com/?access_token=${REFRESH_TOKEN}`,
    credential_id: `Basic ${BASIC}`,
    scopes: ['orders.read', ASSERTION],
    error_code: `invalid_client password=${PASSWORD}`,
  });

function fixtureRecords(): unknown[] {
  const dir = new URL('../fixtures/formats/', import.meta.url);
  const records: unknown[] = [];
  for (const format of readdirSync(dir)) {
    for (const file of readdirSync(new URL(`${format}/`, dir))) {
      if (!file.endsWith('.json')) continue;
      records.push(JSON.parse(readFileSync(new URL(`${format}/${file}`, dir), 'utf8')));
    }
  }
  return records;
}

const MALFORMED = [
  // Not JSON: a token request body and headers pasted into the wrong topic.
  `POST /oauth2/token grant_type=client_credentials&client_id=svc&client_secret=${CLIENT_SECRET}&client_assertion=${ASSERTION}`,
  `Authorization: Basic ${BASIC}`,
  `Authorization: Bearer ${ASSERTION}`,
  // JSON that fails the schema, with secrets under known keys and inside strings.
  JSON.stringify({ event_id: 'bad-1', idp: 'generic', client_secret: CLIENT_SECRET, note: `assertion ${ASSERTION}` }),
  JSON.stringify({ ...canonicalEvent(1), source_ip: 'not-an-ip', password: PASSWORD, refresh_token: [REFRESH_TOKEN] }),
];

/**
 * What the worker must make of the messages, by the same decoder (format auto-detection) and
 * sorting it runs: the ids it stores and how many dead letters it writes (one per message
 * with any invalid record). The checks below then cover every stored row and every dead
 * letter, counted, not a sample of them.
 */
function expectedOutcome(messages: readonly string[]): { storedIds: Set<string>; deadLetters: number } {
  const sorted = classifyBatch(messages, (message: string) => decodeMessage(message, { adapters: FORMATS, format: 'auto' }));
  return { storedIds: new Set(sorted.valid.map((event) => event.eventId)), deadLetters: sorted.invalid.length };
}

describe('secrets never leave the worker in the clear', () => {
  const env = testEnv('secrets', { LOG_LEVEL: 'trace', TOKENWATCH_RETENTION_DAYS: '3650' });
  let worker: CliProcess | undefined;

  afterAll(async () => {
    if (worker && worker.exitCode === null) await terminate(worker);
  });

  it('keeps them out of ClickHouse, the dead-letter topic and the logs', async () => {
    // Every format fixture (some records in them are malformed on purpose) and canonical events.
    const valid = [
      ...fixtureRecords().map((record) => JSON.stringify(stuff(taint(record)))),
      ...[0, 1, 2].map((i) => JSON.stringify(stuff(taintedCanonical(i)))),
    ];
    for (const message of valid) expect(message).toContain(CLIENT_SECRET);
    const expected = expectedOutcome([...valid, ...MALFORMED]);
    for (const message of MALFORMED) expect(expectedOutcome([message]).deadLetters, message).toBe(1);
    expect(expected.storedIds.size).toBeGreaterThan(40);
    await createTopic(env.TOKENWATCH_TOPIC as string, 1);
    worker = spawnCli(['ingest'], env);
    const dataDir = resolve(env.TOKENWATCH_DATA_DIR as string);
    await waitFor(() => readDiscovery(dataDir), (server) => server !== undefined, { what: 'the worker to start' });
    await produce(env.TOKENWATCH_TOPIC as string, [...valid, ...MALFORMED]);

    const sql = async (query: string) => {
      const server = readDiscovery(dataDir);
      if (!server) throw new Error('worker not serving queries');
      return streamText(await queryThroughServer(server, { query, format: 'TSVRaw' }));
    };
    // The worker commits a batch after storing and dead-lettering it: then all of it is written.
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
    const letters = await readTopic(env.TOKENWATCH_DLQ_TOPIC as string, expected.deadLetters);
    expect(letters).toHaveLength(expected.deadLetters);

    const storedIds = (await sql('SELECT event_id FROM token_requests FINAL')).trim().split('\n').sort();
    expect(storedIds).toEqual([...expected.storedIds].sort());
    const stored = await sql('SELECT * FROM token_requests FINAL');
    expect(stored.trim().split('\n')).toHaveLength(expected.storedIds.size);
    expect(await terminate(worker)).toBe(0);
    const logs = worker.logs();
    expect(logs.length).toBeGreaterThan(0);

    const deadLettered = letters.map((letter) => `${letter.value}\n${JSON.stringify(letter.headers)}`).join('\n');
    for (const secret of SECRETS) {
      expect(stored, `ClickHouse holds ${secret}`).not.toContain(secret);
      expect(deadLettered, `the dead-letter topic holds ${secret}`).not.toContain(secret);
      expect(logs, `the logs hold ${secret}`).not.toContain(secret);
    }
    // Redacted, not dropped: each dead letter still says why and carries the rest of the record.
    // Every dead-lettered message carried a secret, so every one is marked as redacted.
    for (const letter of letters) expect(letter.headers['dlq-reason']).toBeTruthy();
    expect(letters.map((letter) => letter.headers['dlq-redacted'])).toEqual(letters.map(() => 'true'));
  });
});
