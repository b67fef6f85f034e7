import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { appendPeer, believedHeaders, CAPTURE_LIMIT, CidrSet, decodeResponseBody, upstreamTarget } from '@tokenwatch/tap';

const upstream = new URL('http://idp.example:8080/oauth2/token');

describe('upstreamTarget', () => {
  it('forwards a path and query to the upstream origin', () => {
    expect(upstreamTarget('/oauth2/token?x=1', upstream)).toEqual({ url: new URL('http://idp.example:8080/oauth2/token?x=1') });
    expect(upstreamTarget('/../a/./b', upstream)).toEqual({ url: new URL('http://idp.example:8080/a/b') });
    expect(upstreamTarget('/@evil.example/x', upstream)).toEqual({ url: new URL('http://idp.example:8080/@evil.example/x') });
  });

  it.each([
    ['absolute-form', 'http://127.0.0.1:9/secret'],
    ['absolute-form to the upstream itself', 'http://idp.example:8080/oauth2/token'],
    ['scheme-relative', '//evil.example/x'],
    ['backslash', '/\\evil.example/x'],
    ['asterisk-form', '*'],
    ['authority-form', 'evil.example:443'],
    ['empty', ''],
  ])('refuses a %s target', (_kind, target) => {
    const result = upstreamTarget(target, upstream);
    expect(result).toHaveProperty('refused');
  });
});

describe('decodeResponseBody', () => {
  it('decompresses an answer up to the capture limit, and reads nothing from one that inflates beyond it', () => {
    const text = '{"error":"invalid_client","error_description":"jti already used"}';
    expect(decodeResponseBody(gzipSync(text), 'gzip')).toBe(text);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    expect(bomb.length).toBeLessThan(CAPTURE_LIMIT);
    expect(decodeResponseBody(bomb, 'gzip')).toBe('');
    expect(decodeResponseBody(gzipSync(text).subarray(0, 10), 'gzip')).toBe('');
  });
});

describe('forwarding headers', () => {
  const headers = { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9', 'x-real-ip': '203.0.113.9', 'user-agent': 'ua' };

  it('drops every forwarding header from an untrusted peer and names the peer instead', () => {
    const believed = believedHeaders(headers, '198.51.100.7', new CidrSet(['10.0.0.0/8']));
    expect(believed).toEqual({ 'user-agent': 'ua' });
    expect(appendPeer({ 'user-agent': 'ua' }, believed, '198.51.100.7')).toEqual({ 'user-agent': 'ua', 'x-forwarded-for': '198.51.100.7' });
  });

  it('keeps a trusted proxy\'s forwarding headers and appends the peer', () => {
    const believed = believedHeaders(headers, '::ffff:10.1.2.3', new CidrSet(['10.0.0.0/8']));
    expect(believed).toBe(headers);
    expect(appendPeer({}, believed, '::ffff:10.1.2.3')).toEqual({ 'x-forwarded-for': '203.0.113.9, 10.1.2.3', forwarded: 'for=203.0.113.9, for=10.1.2.3' });
    expect(appendPeer({}, { forwarded: 'for=a' }, '2001:db8::1')).toEqual({ 'x-forwarded-for': '2001:db8::1', forwarded: 'for=a, for="[2001:db8::1]"' });
  });
});
