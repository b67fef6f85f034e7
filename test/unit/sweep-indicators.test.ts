import { describe, expect, it } from 'vitest';
import { MAX_INDICATORS, MAX_LINE_CHARS, parseIndicators, parseRange } from '@tokenwatch/detector/sweep/indicators';
import { rollupAnswers } from '@tokenwatch/detector/sweep/sweep';

describe('IOC indicator files', () => {
  it('reads addresses, ranges, ASNs and user-agent fragments, skipping comments and blank lines, once each', () => {
    const indicators = parseIndicators(
      ['# report 2026-11', '', '  203.0.113.7  ', '203.0.113.7', '198.51.100.0/24', '2001:DB8::1', 'as64500', 'AS64500', 'ua:python-requests/2', '\t# indented comment', 'UA: Go-http-client '].join('\r\n'),
    );
    expect(indicators.count).toBe(6);
    expect(indicators.addresses.map((address) => address.label)).toEqual(['203.0.113.7', '2001:db8::1']);
    expect(indicators.ranges.map((range) => range.label)).toEqual(['198.51.100.0/24']);
    expect(indicators.asns).toEqual([{ label: 'AS64500', asn: 64500 }]);
    expect(indicators.userAgents).toEqual([
      { label: 'ua:python-requests/2', substring: 'python-requests/2' },
      { label: 'ua:Go-http-client', substring: 'Go-http-client' },
    ]);
  });

  it('turns IPv4 into IPv4-mapped IPv6 ranges and clears host bits', () => {
    expect(parseRange('203.0.113.7')).toMatchObject({ start: '0:0:0:0:0:ffff:cb00:7107', end: '0:0:0:0:0:ffff:cb00:7107', prefix: 128, ipv4: true });
    expect(parseRange('10.1.2.3/8')).toMatchObject({ label: '10.1.2.3/8', start: '0:0:0:0:0:ffff:a00:0', end: '0:0:0:0:0:ffff:aff:ffff', prefix: 104 });
    expect(parseRange('0.0.0.0/0')).toMatchObject({ start: '0:0:0:0:0:ffff:0:0', end: '0:0:0:0:0:ffff:ffff:ffff' });
    expect(parseRange('2001:db8:abcd:12::5/48')).toMatchObject({ start: '2001:db8:abcd:0:0:0:0:0', end: '2001:db8:abcd:ffff:ffff:ffff:ffff:ffff', ipv4: false });
    expect(parseRange('::ffff:192.0.2.1')).toMatchObject({ start: '0:0:0:0:0:ffff:c000:201', prefix: 128 });
    expect(parseRange('::/0')).toMatchObject({ start: '0:0:0:0:0:0:0:0', end: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' });
  });

  it('refuses what is not an address or a range', () => {
    for (const text of ['203.0.113.7/33', '2001:db8::/129', '203.0.113.256', '203.0.113.0/24/1', '203.0.113.0/', '203.0.113.0/x', 'example.com', '203.0.113']) {
      expect(parseRange(text), text).toBeUndefined();
    }
  });

  it('stops at the first wrong line with its number and its content, redacted and cut', () => {
    expect(() => parseIndicators('203.0.113.7\n# fine\nevil.example.com\n')).toThrow('line 3: not an indicator (expected an IP address, a CIDR range, AS<number> or ua:<text>): "evil.example.com"');
    expect(() => parseIndicators('client_secret=hunter2')).toThrow(/line 1: .*\[REDACTED\]/);
    expect(() => parseIndicators('client_secret=hunter2')).not.toThrow(/hunter2/);
    expect(() => parseIndicators(`x${'y'.repeat(200)}`)).toThrow(/line 1: .*"xy{79}"…$/);
    expect(() => parseIndicators('ua:')).toThrow('line 1: ua: needs the text to look for in user agents');
    expect(() => parseIndicators(`ua:${'a'.repeat(300)}`)).toThrow(/line 1: a ua: substring is at most 256 characters/);
    expect(() => parseIndicators('AS99999999999')).toThrow(/line 1: not an indicator/);
    expect(() => parseIndicators('AS4294967296')).toThrow('line 1: an AS number is at most 4294967295');
    expect(() => parseIndicators(`${'1'.repeat(MAX_LINE_CHARS + 1)}`)).toThrow(`line 1: longer than ${MAX_LINE_CHARS} characters`);
  });

  it('bounds the number of indicators', () => {
    const lines = Array.from({ length: MAX_INDICATORS + 1 }, (_, i) => `AS${i + 1}`);
    expect(parseIndicators(lines.slice(0, MAX_INDICATORS).join('\n')).count).toBe(MAX_INDICATORS);
    expect(() => parseIndicators(lines.join('\n'))).toThrow(`line ${MAX_INDICATORS + 1}: more than 10,000 indicators`);
  });

  it('parses a file of 10,000 long indicators quickly', () => {
    const line = `ua:${'a'.repeat(250)}`;
    const started = performance.now();
    parseIndicators(Array.from({ length: MAX_INDICATORS }, (_, i) => `${line}${i}`.slice(0, 256 + 3)).join('\n'));
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('uses the client_locations rollup only for ASNs and ranges at least as wide as its networks', () => {
    expect(rollupAnswers(parseIndicators('AS64500\n198.51.100.0/24\n2001:db8::/48\n10.0.0.0/8'))).toBe(true);
    expect(rollupAnswers(parseIndicators('198.51.100.0/25'))).toBe(false);
    expect(rollupAnswers(parseIndicators('2001:db8::/49'))).toBe(false);
    expect(rollupAnswers(parseIndicators('AS64500\n198.51.100.1'))).toBe(false);
    expect(rollupAnswers(parseIndicators('AS64500\nua:curl'))).toBe(false);
  });
});
