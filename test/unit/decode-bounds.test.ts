import { describe, expect, it } from 'vitest';
import { decodeMessage, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, MAX_REASON_LENGTH } from '@tokenwatch/ingest/decode';
import { MAX_LINE_LENGTH } from '@tokenwatch/ingest/formats/keycloak';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';

const decode = (input: string) => decodeMessage(input, { adapters: FORMATS, format: 'auto' });
const PREFIX = '2026-11-28 01:02:09,314 WARN  [org.keycloak.authentication.authenticators.client.JWTClientValidator] (executor-thread-6) ';

describe('decodeMessage: sizes are bounded before anything reads the input', () => {
  it('dead-letters a message over MAX_MESSAGE_BYTES with its size', () => {
    const [result] = decode(`"${'x'.repeat(MAX_MESSAGE_BYTES)}"`);
    expect(result).toEqual({ kind: 'dlq', reason: `message is ${MAX_MESSAGE_BYTES + 2} bytes, over the ${MAX_MESSAGE_BYTES} a message may have` });
  });

  it('dead-letters a Keycloak line over MAX_LINE_LENGTH with its length, and reads the lines beside it', () => {
    const long = `${PREFIX}Token '${'j'.repeat(MAX_LINE_LENGTH)}' already used when for issuedFor 'svc'.`;
    const short = `${PREFIX}Token 'jti-1' already used when for issuedFor 'svc'.`;
    const results = decode(`${long}\n${short}`);
    expect(results.map((result) => result.kind)).toEqual(['dlq', 'ok']);
    expect(results[0]).toEqual({
      kind: 'dlq',
      reason: `keycloak: log line is ${long.length} characters long, over the ${MAX_LINE_LENGTH} a Keycloak log line may have`,
    });
  });

  it('dead-letters JSON nested deeper than MAX_JSON_DEPTH', () => {
    let nested: unknown = 1;
    for (let depth = 0; depth < MAX_JSON_DEPTH + 1; depth += 1) nested = { a: nested };
    expect(decode(JSON.stringify(nested))).toEqual([{ kind: 'dlq', reason: `JSON nests deeper than ${MAX_JSON_DEPTH} levels` }]);
    expect(decode(JSON.stringify((nested as { a: unknown }).a))).toEqual([{ kind: 'dlq', reason: expect.stringMatching(/^unrecognised format/) }]);
  });

  it('cuts a reason that quotes long input, and redacts what it quotes', () => {
    const [result] = decode(JSON.stringify({ [`Bearer ${'k'.repeat(5000)}`]: 1 }));
    expect(result?.kind).toBe('dlq');
    const reason = result?.kind === 'dlq' ? result.reason : '';
    expect(reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH + 1);
    expect(reason).toContain('Bearer [REDACTED]');
    expect(reason).not.toContain('kkkkkkkkkk');
  });
});

describe('Keycloak replay warnings: jti and client read by scanning', () => {
  const decodeOne = (line: string) => {
    const [result] = decode(line);
    if (result?.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
    return result.event;
  };

  it('reads a jti that holds quotes and the marker-like text up to the first marker', () => {
    const event = decodeOne(`${PREFIX}Token 'a'b' already used when for issuedFor 'svc-'x''.`);
    expect(event.assertion?.jti).toBe("a'b");
    expect(event.client_id).toBe("svc-'x'");
  });

  it('needs the message to start a word, and the closing quote at the end of the line', () => {
    expect(decode(`${PREFIX}XToken 'j' already used when for issuedFor 'svc'.`)[0]?.kind).toBe('skip');
    expect(decode(`${PREFIX}Token 'j' already used when for issuedFor 'svc' and more`)[0]?.kind).toBe('skip');
  });

  it('takes the MDC block up to the first } followed by the level and category', () => {
    const event = decodeOne(
      `2026-11-28 01:02:12,250 {kc.clientId=svc-}reports, kc.ipAddress=198.51.100.77, kc.realmName=acme} WARN  [org.keycloak.x] (t) Token 'j' already used when for issuedFor 'null'.`,
    );
    expect(event).toMatchObject({ client_id: 'svc-}reports', tenant: 'acme', source_ip: '198.51.100.77' });
  });
});
