#!/usr/bin/env node
// Captures what a real Keycloak logs for each kind of token request a machine client makes, as
// fixtures for the Keycloak adapter's tests. Run against `npm run keycloak:start` (the demo realm,
// infra/keycloak/realm-demo.json):
//   node scripts/capture-keycloak-fixtures.mjs
// For each case it sends the request(s) to the token endpoint, waits until Keycloak has written
// the case's event record to infra/keycloak/.cache/keycloak.log, and copies every JSON log record
// Keycloak wrote meanwhile, verbatim, to test/fixtures/formats/keycloak/real-26.x/<case>.jsonl.
// Nothing is written by hand or redacted: a secret in a fixture is a secret the log holds.
// cases.json records the Keycloak version, each case's requests and answers, and the secrets the
// run used (the demo realm's client secrets and every assertion sent), so the tests can check
// that none of them reaches a stored field.
import { readFileSync, writeFileSync, mkdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// jose is the test workspace's devDependency.
const { SignJWT, importJWK } = await import(createRequire(join(root, 'test', 'package.json')).resolve('jose'));

const port = process.env.KEYCLOAK_PORT ?? '8080';
const base = `http://127.0.0.1:${port}`;
const realmName = 'demo';
const issuer = `${base}/realms/${realmName}`;
const tokenEndpoint = `${issuer}/protocol/openid-connect/token`;
const logFile = join(root, 'infra/keycloak/.cache/keycloak.log');
const outDir = join(root, 'test/fixtures/formats/keycloak/real-26.x');
const realm = JSON.parse(readFileSync(join(root, 'infra/keycloak/realm-demo.json'), 'utf8'));
const signingKey = JSON.parse(readFileSync(join(root, 'infra/keycloak/svc-jwt.demo-private.jwk.json'), 'utf8'));
const WAIT_MS = 20_000;

const secretOf = (clientId) => realm.clients.find((c) => c.clientId === clientId).secret;
const sentAssertions = [];

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

async function tokenRequest({ form, basic }) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  const response = await fetch(tokenEndpoint, { method: 'POST', headers, body: new URLSearchParams({ grant_type: 'client_credentials', ...form }) });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, error: body.error, error_description: body.error_description, token: body.access_token !== undefined };
}

async function assertion(clientId, { kind, audience = issuer, expiresIn = 60, issuedAgo = 0, secret }) {
  const now = Math.floor(Date.now() / 1000) - issuedAgo;
  const jwt = new SignJWT({})
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn);
  const signed =
    kind === 'private_key_jwt'
      ? await jwt.setProtectedHeader({ alg: 'ES256', kid: signingKey.kid }).sign(await importJWK(signingKey, 'ES256'))
      : await jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
  sentAssertions.push(signed);
  return signed;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const assertionForm = (clientId, signed) => ({ client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: signed });

/** Each case: what it is, and the request(s) it sends (a function, so each run signs afresh). */
const cases = [
  { name: 'secret-basic-success', about: 'client-secret over HTTP Basic, right secret', requests: async () => [{ basic: { id: 'svc-secret-basic', secret: secretOf('svc-secret-basic') } }] },
  { name: 'secret-basic-wrong-secret', about: 'client-secret over HTTP Basic, wrong secret', requests: async () => [{ basic: { id: 'svc-secret-basic', secret: 'wrong-secret-basic-0000' } }] },
  { name: 'secret-post-success', about: 'client-secret in the form (client_secret_post), right secret', requests: async () => [{ form: { client_id: 'svc-secret-post', client_secret: secretOf('svc-secret-post') } }] },
  { name: 'secret-post-wrong-secret', about: 'client-secret in the form, wrong secret', requests: async () => [{ form: { client_id: 'svc-secret-post', client_secret: 'wrong-secret-post-0000' } }] },
  { name: 'unknown-client', about: 'a client_id the realm does not have, with a secret', requests: async () => [{ form: { client_id: 'svc-does-not-exist', client_secret: 'secret-of-no-client-0000' } }] },
  { name: 'disabled-client', about: 'a disabled client, right secret', requests: async () => [{ form: { client_id: 'svc-disabled', client_secret: secretOf('svc-disabled') } }] },
  { name: 'private-key-jwt-success', about: 'private_key_jwt (client-jwt), valid ES256 assertion', requests: async () => [{ form: assertionForm('svc-jwt', await assertion('svc-jwt', { kind: 'private_key_jwt' })) }] },
  { name: 'private-key-jwt-expired', about: 'private_key_jwt, assertion expired 10 minutes ago', requests: async () => [{ form: assertionForm('svc-jwt', await assertion('svc-jwt', { kind: 'private_key_jwt', issuedAgo: 660, expiresIn: 60 })) }] },
  { name: 'private-key-jwt-wrong-audience', about: 'private_key_jwt, assertion for another audience', requests: async () => [{ form: assertionForm('svc-jwt', await assertion('svc-jwt', { kind: 'private_key_jwt', audience: 'https://wrong-audience.example/token' })) }] },
  {
    name: 'private-key-jwt-replay',
    about: 'private_key_jwt, the same signed assertion sent twice',
    requests: async () => {
      const signed = await assertion('svc-jwt', { kind: 'private_key_jwt' });
      return [{ form: assertionForm('svc-jwt', signed) }, { form: assertionForm('svc-jwt', signed) }];
    },
  },
  { name: 'client-secret-jwt-success', about: 'client_secret_jwt (client-secret-jwt), valid HS256 assertion', requests: async () => [{ form: assertionForm('svc-secret-jwt', await assertion('svc-secret-jwt', { kind: 'client_secret_jwt', secret: secretOf('svc-secret-jwt') })) }] },
  { name: 'client-secret-jwt-wrong-secret', about: 'client_secret_jwt, assertion signed with the wrong secret', requests: async () => [{ form: assertionForm('svc-secret-jwt', await assertion('svc-secret-jwt', { kind: 'client_secret_jwt', secret: 'wrong-hs256-key-000000000000000000000000' })) }] },
  {
    name: 'client-secret-jwt-replay',
    about: 'client_secret_jwt, the same signed assertion sent twice',
    requests: async () => {
      const signed = await assertion('svc-secret-jwt', { kind: 'client_secret_jwt', secret: secretOf('svc-secret-jwt') });
      return [{ form: assertionForm('svc-secret-jwt', signed) }, { form: assertionForm('svc-secret-jwt', signed) }];
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
const manifest = { keycloak_version: version, captured_at: new Date().toISOString(), realm: realmName, token_endpoint: tokenEndpoint, cases: [] };
for (const testCase of cases) {
  const signedBefore = sentAssertions.length;
  const requests = await testCase.requests();
  // The jti of each assertion the case signed, for the tests to expect.
  const jtis = sentAssertions.slice(signedBefore).map((jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti);
  const offset = logSize();
  const answers = [];
  for (const request of requests) answers.push(await tokenRequest(request));
  const records = await eventsSince(offset, requests.length);
  writeFileSync(join(outDir, `${testCase.name}.jsonl`), records.map(({ line }) => `${line}\n`).join(''));
  manifest.cases.push({ name: testCase.name, about: testCase.about, assertion_jtis: jtis, answers, records: records.length });
  console.log(`${testCase.name}: ${answers.map((a) => a.status + (a.error ? ` ${a.error}` : '')).join(', ')}; ${records.length} log records`);
}
manifest.secrets = [...realm.clients.map((c) => c.secret).filter(Boolean), 'wrong-secret-basic-0000', 'wrong-secret-post-0000', 'secret-of-no-client-0000', 'wrong-hs256-key-000000000000000000000000', ...sentAssertions];
writeFileSync(join(outDir, 'cases.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`Keycloak ${version}: ${cases.length} cases in ${outDir}`);
