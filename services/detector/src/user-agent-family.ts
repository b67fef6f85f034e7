/**
 * The user-agent family: the product name without its version, so that a library upgrade
 * (`okhttp/4.9.3` to `okhttp/4.12.0`) is not new software. The rule, here and in the
 * client_traits rollup (shared/src/storage/migrations/0011_client_traits.sql), which must agree
 * (test/integration/detect-new-user-agent.test.ts compares them):
 *
 *   the first token of the user agent separated by ASCII whitespace, cut at its first '/',
 *   with A-Z lowercased, at most 128 code points; '' when the user agent is empty.
 *
 * `aws-sdk-java/2.20 Linux/5.10` -> `aws-sdk-java`; `Go-http-client/1.1` -> `go-http-client`;
 * `billing-sync/1.4.2 okhttp/4.12.0` -> `billing-sync` (an application naming itself first is
 * judged by its own name). No regular expression with repetition over input: a scan.
 */
export const USER_AGENT_FAMILY_MAX = 128;

/** ClickHouse's splitByWhitespace separators: space, \t, \n, \v, \f, \r. */
const WHITESPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

export function userAgentFamily(userAgent: string): string {
  let start = 0;
  while (start < userAgent.length && WHITESPACE.has(userAgent[start] as string)) start++;
  let end = start;
  while (end < userAgent.length && !WHITESPACE.has(userAgent[end] as string) && userAgent[end] !== '/') end++;
  const product = Array.from(userAgent.slice(start, end)).slice(0, USER_AGENT_FAMILY_MAX).join('');
  let family = '';
  for (const char of product) family += char >= 'A' && char <= 'Z' ? char.toLowerCase() : char;
  return family;
}
