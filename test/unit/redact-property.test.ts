import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactRecord, redactStrings, redactText, redactValue } from '@tokenwatch/shared/redact';

// Secrets in every shape a client, an IdP or a log line puts them in; none may survive. And
// the ordinary text of a token request (client ids, addresses, times, hosts) must come out as
// it went in: a redactor that eats everything would pass the first half alone.

const RUNS = { numRuns: 300 };

/** Characters a credential is made of: base64(url), JWT dots, `:` of `id:secret`, `~+/=`. */
const SECRET_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=:'];
const secretValue = fc.string({ unit: fc.constantFrom(...SECRET_CHARS), minLength: 12, maxLength: 48 }).filter((value) => /[A-Za-z0-9]{4}/.test(value));

/** A word in random case with random separators between its letters: `Client-SECRET`, `pass_word`. */
function scrambled(word: string, separators: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }),
      fc.array(fc.constantFrom('', '', '', ...separators), { minLength: word.length, maxLength: word.length }),
    )
    .map(([upper, seps]) => [...word].map((char, i) => `${i > 0 ? seps[i] : ''}${upper[i] ? char.toUpperCase() : char}`).join(''));
}

/** Words a secret-named key contains anywhere, after normalisation. */
const CONTAINED_WORDS = ['secret', 'password', 'passwd', 'passphrase', 'token', 'assertion', 'authorization', 'cookie', 'credentials', 'codeverifier'];
/** Words a secret-named key ends with. */
const ENDING_WORDS = ['apikey', 'privatekey', 'accesskey', 'signingkey'];
const PREFIXES = ['', 'x-', 'X-', 'client_', 'Client-', 'my.', 'upstream', 'Subject_', 'refresh-', 'id_'];
const SUFFIXES = ['', '_value', '-Header', 'Value', '_2', '.b64', 'Raw'];

/** A secret-named key of form or header text: `[A-Za-z_][\w.-]*`. */
function secretKey(separators: readonly string[]): fc.Arbitrary<string> {
  const contained = fc.tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...CONTAINED_WORDS).chain((word) => scrambled(word, separators)), fc.constantFrom(...SUFFIXES));
  const ending = fc.tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...ENDING_WORDS).chain((word) => scrambled(word, separators)), fc.constant(''));
  const whole = fc.tuple(fc.constant(''), fc.constantFrom('code', 'Code', 'CODE', 'auth_code', 'device_code'), fc.constant(''));
  return fc.oneof(contained, ending, whole).map(([prefix, word, suffix]) => `${prefix}${word}${suffix}`);
}

const textKey = secretKey(['-', '_', '.']);
const jsonKey = secretKey(['-', '_', '.', ' ']);

const clientId = fc.stringMatching(/^[a-z][a-z0-9-]{2,24}$/);
const timestamp = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }).map((date) => date.toISOString());
const ordinaryWord = fc.stringMatching(/^[a-z]{1,10}$/);

/** Form or query text: ordinary parameters around one secret. */
const formText = fc.tuple(clientId, textKey, secretValue, fc.constantFrom('&', '&', ';')).map(([id, key, secret, join]) => ({
  text: `grant_type=client_credentials${join}client_id=${id}${join}${key}=${secret}${join}scope=orders.read`,
  secret,
}));

const urlText = fc.tuple(fc.domain(), textKey, secretValue).map(([host, key, secret]) => ({ text: `GET https://${host}/oauth/token?${key}=${secret}&x=1 failed`, secret }));

const headerText = fc.tuple(textKey, secretValue, fc.constantFrom(': ', ':', ' = ', '=')).map(([key, secret, separator]) => ({ text: `POST /token\r\n${key}${separator}${secret}\r\nAccept: */*\r\n`, secret }));

const authorizationText = fc
  .tuple(fc.constantFrom('Authorization', 'authorization', 'Proxy-Authorization', 'AUTHORIZATION'), fc.constantFrom('Basic', 'Bearer', 'bearer', 'BEARER', 'DPoP', 'Token', 'Custom-Scheme', ''), secretValue)
  .map(([header, scheme, secret]) => ({ text: `${header}: ${scheme ? `${scheme} ` : ''}${secret}`, secret }));

const bearerInProse = fc.tuple(fc.constantFrom('Basic', 'Bearer', 'bearer', 'Negotiate'), secretValue, ordinaryWord).map(([scheme, secret, word]) => ({ text: `retry ${word} with ${scheme} ${secret} (${word})`, secret }));

const logText = fc.tuple(textKey, secretValue, ordinaryWord).map(([key, secret, word]) => ({ text: `${key}: ${secret} ${word}`, secret }));

/** JSON-looking text that does not parse (a truncated record), with the secret quoted. */
const brokenJsonText = fc.tuple(jsonKey, secretValue, clientId).map(([key, secret, id]) => ({ text: `{"client_id": "${id}", "${key}" : "${secret} and more", "x": `, secret }));

/** A compact JWT whose header is any JSON object, spaced any way, so it need not start with `eyJ`. */
const jwtText = fc
  .tuple(
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean()), { minKeys: 1, maxKeys: 4 }),
    fc.nat(4),
    fc.constantFrom('', ' ', '\n'),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 16 }), { minKeys: 1, maxKeys: 5 }),
    fc.option(fc.uint8Array({ minLength: 0, maxLength: 64 }), { nil: undefined }),
    ordinaryWord,
  )
  .map(([header, indent, lead, payload, signature, word]) => {
    const headerSegment = Buffer.from(`${lead}${JSON.stringify(header, null, indent)}`).toString('base64url');
    const payloadSegment = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const jwt = signature === undefined ? `${headerSegment}.${payloadSegment}` : `${headerSegment}.${payloadSegment}.${Buffer.from(signature).toString('base64url')}`;
    return { text: `${word} ${jwt} ${word}`, secret: `${headerSegment}.${payloadSegment}` };
  });

describe('redaction properties: no secret survives, in any shape', () => {
  it.each([
    ['form text', formText],
    ['a URL query', urlText],
    ['a header line', headerText],
    ['an Authorization header of any scheme', authorizationText],
    ['Basic/Bearer in prose', bearerInProse],
    ['a log line', logText],
    ['JSON text that does not parse', brokenJsonText],
    ['a JWT of any header', jwtText],
  ])('%s', (_shape, sample) => {
    fc.assert(
      fc.property(sample, ({ text, secret }) => {
        expect(redactText(text)).not.toContain(secret);
        // The same text as a string field anywhere in an event, and as a whole raw record.
        expect(JSON.stringify(redactStrings({ user_agent: text, nested: [{ note: text }] }))).not.toContain(secret);
        expect(redactRecord(text).text).not.toContain(secret);
      }),
      RUNS,
    );
  });

  it('JSON objects: a secret-named key at any depth, any case, prefix, suffix or separator', () => {
    fc.assert(
      fc.property(jsonKey, fc.oneof(secretValue, secretValue.map((value) => [value])), clientId, fc.nat(3), (key, value, id, depth) => {
        let record: Record<string, unknown> = { client_id: id, [key]: value };
        for (let i = 0; i < depth; i += 1) record = { level: i, inner: record };
        const secret = Array.isArray(value) ? value[0] : value;
        expect(JSON.stringify(redactValue(record))).not.toContain(secret);
        expect(redactRecord(JSON.stringify(record)).text).not.toContain(secret);
      }),
      RUNS,
    );
  });
});

describe('redaction properties: ordinary text is left alone', () => {
  it('client ids, addresses, times, hosts and non-secret parameters, as text', () => {
    fc.assert(
      fc.property(clientId, fc.oneof(fc.ipV4(), fc.ipV6()), timestamp, fc.domain(), ordinaryWord, (id, ip, time, host, word) => {
        const texts = [
          `client_id=${id}&grant_type=refresh_token&scope=${word}.read&error_code=invalid_client`,
          `client_id: ${id} source_ip: ${ip} time: ${time} host: ${host}`,
          `{"client_id":"${id}","source_ip":"${ip}","time":"${time}","token_type":"Bearer","kid":"${word}"}`,
          `token exchange for ${id} from ${ip} at ${time} via https://${host}/oauth2/v1/token`,
          `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_id=${id}`,
        ];
        for (const text of texts) expect(redactText(text)).toBe(text);
      }),
      RUNS,
    );
  });

  it('client ids, addresses, times and non-secret keys, as JSON', () => {
    fc.assert(
      fc.property(clientId, fc.oneof(fc.ipV4(), fc.ipV6()), timestamp, ordinaryWord, (id, ip, time, word) => {
        const record = {
          client_id: id,
          source_ip: ip,
          time,
          error_code: 'invalid_grant',
          grant_type: 'refresh_token',
          token_type: 'Bearer',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          kid: word,
          assertion: { jti: `${word}-1`, iss: id, iat: 1_764_244_800 },
        };
        expect(redactValue(record)).toEqual(record);
      }),
      RUNS,
    );
  });
});

describe('redaction stays linear on hostile input', () => {
  it.each([
    ['a long run of word characters', 'a'.repeat(1_000_000)],
    ['many keys without values', 'token'.repeat(200_000)],
    ['many separators', `${'a='.repeat(300_000)}`],
    ['many JWT-like segments', `${'abcdefgh.'.repeat(100_000)}`],
    ['an unterminated quoted secret', `"client_secret": "${'\\"'.repeat(300_000)}`],
    ['many Bearer words', 'Bearer '.repeat(150_000)],
  ])('%s', (_shape, text) => {
    const started = performance.now();
    redactText(text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
