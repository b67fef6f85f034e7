import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isIPv6 } from 'node:net';
import { normaliseIp, type CidrSet } from '@tokenwatch/shared/net/cidr';

/**
 * Headers through which a caller names the client's address (or the host and scheme it
 * used). Only a trusted proxy's word counts: from anyone else they are whatever the caller
 * chose to write, and the IdP behind the tap would log that as the client's address.
 */
export const FORWARDING_HEADERS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'client-ip',
]);

/**
 * The request headers the tap believes: all of them from a trusted proxy, all but the
 * forwarding ones from any other peer. The proxy forwards these and the event is built from
 * these, so the IdP's log and the event's source_ip follow one rule.
 */
export function believedHeaders(headers: IncomingHttpHeaders, peerAddress: string, trustedProxies: CidrSet): IncomingHttpHeaders {
  if (trustedProxies.has(peerAddress)) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !FORWARDING_HEADERS.has(name)));
}

function joined(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text?.trim() ? text.trim() : undefined;
}

/**
 * The tap is a proxy too: it appends its peer to X-Forwarded-For (and to Forwarded, when a
 * trusted proxy sent one, RFC 7239 §5.2), so the IdP sees the address the request came from.
 */
export function appendPeer(headers: OutgoingHttpHeaders, believed: IncomingHttpHeaders, peerAddress: string): OutgoingHttpHeaders {
  const peer = normaliseIp(peerAddress);
  if (!peer) return headers;
  const forwardedFor = joined(believed['x-forwarded-for']);
  const forwarded = joined(believed.forwarded);
  return {
    ...headers,
    'x-forwarded-for': forwardedFor ? `${forwardedFor}, ${peer}` : peer,
    ...(forwarded ? { forwarded: `${forwarded}, for=${isIPv6(peer) ? `"[${peer}]"` : peer}` } : {}),
  };
}
