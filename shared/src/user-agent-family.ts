/**
 * The user-agent family of a request: the product name without its version, so that a library upgrade
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
const isWhitespace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);
const SLASH = 0x2f;

export function userAgentFamily(userAgent: string): string {
  let start = 0;
  while (start < userAgent.length && isWhitespace(userAgent.charCodeAt(start))) start++;
  // 2 x 128 UTF-16 units hold at least 128 code points: the scan stops there.
  const limit = Math.min(userAgent.length, start + 2 * USER_AGENT_FAMILY_MAX);
  let end = start;
  while (end < limit && !isWhitespace(userAgent.charCodeAt(end)) && userAgent.charCodeAt(end) !== SLASH) end++;
  let family = '';
  let codePoints = 0;
  for (const char of userAgent.slice(start, end)) {
    if (codePoints++ === USER_AGENT_FAMILY_MAX) break;
    family += char >= 'A' && char <= 'Z' ? char.toLowerCase() : char;
  }
  return family;
}
