#!/usr/bin/env node
// Captures what a real Keycloak logs for each kind of token request a machine client makes, as
// fixtures for the Keycloak adapter's tests. Run against `npm run keycloak:start` (the demo realm,
// infra/keycloak/realm-demo.json):
//   npx turbo run build && node scripts/capture-keycloak-fixtures.mjs
// For each case it sends the request(s) to the token endpoint, waits until Keycloak has written
// the case's event record to its log (KEYCLOAK_LOG; infra/keycloak/.cache/keycloak.log by
// default), and copies every JSON log record Keycloak wrote meanwhile, verbatim, to
// test/fixtures/formats/keycloak/real-26.x/<case>.jsonl.
// Nothing is written by hand or redacted: a secret in a fixture is a secret the log holds.
// cases.json records the Keycloak version, each case's answers (status, issued, OAuth error),
// and the secrets the run used (the demo realm's client secrets and every assertion sent), so
// the tests can check that none of them reaches a stored field.
import { writeFileSync, mkdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The demo's client of the realm (built: run `npx turbo run build` first): the requests and
// assertions are made as the demo and the Keycloak tests make them.
import { DEFAULT_KEYCLOAK_LOG, KeycloakDemoRealm } from '@tokenwatch/demo/keycloak/client';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = process.env.KEYCLOAK_URL ?? `http://127.0.0.1:${process.env.KEYCLOAK_PORT ?? '8080'}`;
const realm = new KeycloakDemoRealm(base);
const logFile = process.env.KEYCLOAK_LOG ?? DEFAULT_KEYCLOAK_LOG;
const outDir = join(root, 'test/fixtures/formats/keycloak/real-26.x');
const WAIT_MS = 20_000;

/** Every assertion the run signed (the manifest lists them as secrets). */
const sentAssertions = [];
const signed = (assertion) => {
  sentAssertions.push(assertion);
  return assertion;
};

function logSize() {
  return statSync(logFile).size;
}

function readFrom(offset) {
  const size = logSize();
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, offset);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}

/** The complete JSON records written after `offset` (a record still being written is left out). */
function recordsSince(offset) {
  const text = readFrom(offset);
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => ({ line, record: JSON.parse(line) }));
}

const isEvent = ({ record }) => record.loggerName === 'org.keycloak.events' && /type="?CLIENT_LOGIN/.test(record.message);

/** Waits (polling the log) until `count` event records follow `offset`. */
async function eventsSince(offset, count) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const records = recordsSince(offset);
    if (records.filter(isEvent).length >= count) return records;
    if (Date.now() > deadline) throw new Error(`Keycloak logged ${records.filter(isEvent).length} of ${count} events within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Each case: what it is, and its requests. `requests()` signs the case's assertions afresh and
 * returns one function per request, which sends it.
 */
const cases = [
  { name: 'secret-basic-success', about: 'client-secret over HTTP Basic, right secret', requests: () => [() => realm.secretBasic('svc-secret-basic', realm.secretOf('svc-secret-basic'))] },
  { name: 'secret-basic-wrong-secret', about: 'client-secret over HTTP Basic, wrong secret', requests: () => [() => realm.secretBasic('svc-secret-basic', 'wrong-secret-basic-0000')] },
  { name: 'secret-post-success', about: 'client-secret in the form (client_secret_post), right secret', requests: () => [() => realm.secretPost('svc-secret-post', realm.secretOf('svc-secret-post'))] },
  { name: 'secret-post-wrong-secret', about: 'client-secret in the form, wrong secret', requests: () => [() => realm.secretPost('svc-secret-post', 'wrong-secret-post-0000')] },
  { name: 'unknown-client', about: 'a client_id the realm does not have, with a secret', requests: () => [() => realm.secretPost('svc-does-not-exist', 'secret-of-no-client-0000')] },
  { name: 'disabled-client', about: 'a disabled client, right secret', requests: () => [() => realm.secretPost('svc-disabled', realm.secretOf('svc-disabled'))] },
  {
    name: 'private-key-jwt-success',
    about: 'private_key_jwt (client-jwt), valid ES256 assertion',
    requests: () => {
      const assertion = signed(realm.privateKeyJwt('svc-jwt'));
      return [() => realm.sendAssertion('svc-jwt', assertion)];
    },
  },
  {
    name: 'private-key-jwt-expired',
    about: 'private_key_jwt, assertion expired 10 minutes ago',
    requests: () => {
      const assertion = signed(realm.privateKeyJwt('svc-jwt', { issuedAgo: 660, expiresIn: 60 }));
      return [() => realm.sendAssertion('svc-jwt', assertion)];
    },
  },
  {
    name: 'private-key-jwt-wrong-audience',
    about: 'private_key_jwt, assertion for another audience',
    requests: () => {
      const assertion = signed(realm.privateKeyJwt('svc-jwt', { audience: 'https://wrong-audience.example/token' }));
      return [() => realm.sendAssertion('svc-jwt', assertion)];
    },
  },
  {
    name: 'private-key-jwt-replay',
    about: 'private_key_jwt, the same signed assertion sent twice',
    requests: () => {
      const assertion = signed(realm.privateKeyJwt('svc-jwt'));
      return [() => realm.sendAssertion('svc-jwt', assertion), () => realm.sendAssertion('svc-jwt', assertion)];
    },
  },
  {
    name: 'client-secret-jwt-success',
    about: 'client_secret_jwt (client-secret-jwt), valid HS256 assertion',
    requests: () => {
      const assertion = signed(realm.clientSecretJwt('svc-secret-jwt', realm.secretOf('svc-secret-jwt')));
      return [() => realm.sendAssertion('svc-secret-jwt', assertion)];
    },
  },
  {
    name: 'client-secret-jwt-wrong-secret',
    about: 'client_secret_jwt, assertion signed with the wrong secret',
    requests: () => {
      const assertion = signed(realm.clientSecretJwt('svc-secret-jwt', 'wrong-hs256-key-000000000000000000000000'));
      return [() => realm.sendAssertion('svc-secret-jwt', assertion)];
    },
  },
  {
    name: 'client-secret-jwt-replay',
    about: 'client_secret_jwt, the same signed assertion sent twice',
    requests: () => {
      const assertion = signed(realm.clientSecretJwt('svc-secret-jwt', realm.secretOf('svc-secret-jwt')));
      return [() => realm.sendAssertion('svc-secret-jwt', assertion), () => realm.sendAssertion('svc-secret-jwt', assertion)];
    },
  },
];

async function serverVersion() {
  const token = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: process.env.KEYCLOAK_ADMIN ?? 'admin', password: process.env.KEYCLOAK_ADMIN_PASSWORD ?? 'admin' }),
  }).then((r) => r.json());
  const info = await fetch(`${base}/admin/serverinfo`, { headers: { authorization: `Bearer ${token.access_token}` } }).then((r) => r.json());
  return info.systemInfo.version;
}

const version = await serverVersion();
mkdirSync(outDir, { recursive: true });
const manifest = { keycloak_version: version, captured_at: new Date().toISOString(), realm: realm.realm, token_endpoint: realm.tokenEndpoint, cases: [] };
for (const testCase of cases) {
  const signedBefore = sentAssertions.length;
  const requests = testCase.requests();
  // The jti of each assertion the case signed, for the tests to expect.
  const jtis = sentAssertions.slice(signedBefore).map((assertion) => assertion.jti);
  const offset = logSize();
  const answers = [];
  for (const send of requests) answers.push(await send());
  const records = await eventsSince(offset, requests.length);
  writeFileSync(join(outDir, `${testCase.name}.jsonl`), records.map(({ line }) => `${line}\n`).join(''));
  manifest.cases.push({ name: testCase.name, about: testCase.about, assertion_jtis: jtis, answers, records: records.length });
  console.log(`${testCase.name}: ${answers.map((a) => a.status + (a.error ? ` ${a.error}` : '')).join(', ')}; ${records.length} log records`);
}
manifest.secrets = [...realm.realmSecrets(), 'wrong-secret-basic-0000', 'wrong-secret-post-0000', 'secret-of-no-client-0000', 'wrong-hs256-key-000000000000000000000000', ...sentAssertions.map((assertion) => assertion.jwt)];
writeFileSync(join(outDir, 'cases.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`Keycloak ${version}: ${cases.length} cases in ${outDir}`);
