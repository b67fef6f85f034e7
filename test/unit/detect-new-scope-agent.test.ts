import { describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import { SensitiveScopes, globMatches } from '@tokenwatch/detector/detectors/new-scope/sensitive-scopes';
import { userAgentFamily } from '@tokenwatch/shared/user-agent-family';

const DEFAULTS = new SensitiveScopes(parseConfig({}, 'defaults').detectors.new_scope.sensitive_scopes);

describe('user-agent family', () => {
  it.each([
    ['okhttp/4.9.3', 'okhttp'],
    ['okhttp/4.12.0', 'okhttp'],
    ['python-requests/2.31', 'python-requests'],
    ['Go-http-client/1.1', 'go-http-client'],
    ['aws-sdk-java/2.20 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.8', 'aws-sdk-java'],
    ['billing-sync/1.4.2 okhttp/4.12.0', 'billing-sync'],
    ['.NET/8.0 HttpClient', '.net'],
    ['  curl/8.4.0', 'curl'],
    ['rapeflake', 'rapeflake'],
    ['ÜberClient/1.0', 'Überclient'],
    ['/1.0', ''],
    ['', ''],
  ])('%j -> %j', (userAgent, family) => {
    expect(userAgentFamily(userAgent)).toBe(family);
  });

  it('ignores versions: an upgrade is the same family', () => {
    expect(userAgentFamily('okhttp/4.9.3')).toBe(userAgentFamily('okhttp/4.12.0'));
    expect(userAgentFamily('svc/1.0 okhttp/3')).toBe(userAgentFamily('svc/2.7.1 okhttp/4'));
  });

  it('is bounded and linear on hostile input', () => {
    expect(userAgentFamily('a'.repeat(10_000))).toHaveLength(128);
    const started = performance.now();
    userAgentFamily(`${' '.repeat(500_000)}${'x'.repeat(500_000)}`);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('sensitive scopes', () => {
  it.each([
    ['okta.users.manage', 'okta.*.manage'],
    ['okta.apiTokens.manage', 'okta.*.manage'],
    ['Directory.ReadWrite.All', '*.ReadWrite.*'],
    ['RoleManagement.ReadWrite.Directory', '*.ReadWrite.*'],
    ['Mail.ReadWrite', '*.ReadWrite'],
    ['directory.readwrite.all', '*.ReadWrite.*'],
    ['Sites.FullControl.All', '*.FullControl.*'],
    ['create:clients', 'create:*'],
    ['delete:users', 'delete:*'],
    ['read:users', 'read:users'],
    ['https://acme.eu.auth0.com/api/v2/', 'https://*.auth0.com/api/v2/'],
    ['orders:export', '*export*'],
    ['billing:admin', '*:admin'],
  ])('%s is sensitive (%s)', (scope, pattern) => {
    expect(DEFAULTS.match(scope)).toBe(pattern);
  });

  it.each(['okta.users.read', 'User.Read.All', 'https://graph.microsoft.com/.default', 'read:clients', 'orders:read', 'orders:write', 'okta.users.manage.x', 'administrator'])(
    '%s is not sensitive',
    (scope) => {
      expect(DEFAULTS.match(scope)).toBeUndefined();
    },
  );

  it('matches globs by literal pieces in order, without overlap', () => {
    expect(globMatches(['a', 'b', 'c'], 'abc')).toBe(true);
    expect(globMatches(['a', 'b', 'c'], 'axbyc')).toBe(true);
    expect(globMatches(['ab', 'ba'], 'aba')).toBe(false);
    expect(globMatches(['a', 'a', 'a'], 'aa')).toBe(false);
    expect(globMatches(['', 'x', ''], 'yyxyy')).toBe(true);
    expect(globMatches(['exact'], 'exact')).toBe(true);
    expect(globMatches(['exact'], 'exactly')).toBe(false);
  });

  it('takes linear time on a pattern of many wildcards and a long value', () => {
    const matcher = new SensitiveScopes([`${'a*'.repeat(100)}b`]);
    const started = performance.now();
    expect(matcher.match('a'.repeat(256))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(200);
  });
});
