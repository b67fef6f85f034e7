import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { DAY_MS } from '../time.js';

/**
 * TokenRequest v1: the canonical shape of one OAuth token request by a machine client.
 * Every IdP format is translated into this before storage. This is a contract: other
 * services, docs/token-request.schema.json and users' gateways rely on these names.
 */

export const IDPS = ['okta', 'auth0', 'entra', 'keycloak', 'cognito', 'oidc-provider', 'generic'] as const;

export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret', // a shared secret whose transport the IdP does not log
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'federated',
  'managed_identity',
  'none',
  'unknown',
] as const;

export const OUTCOMES = ['success', 'failure'] as const;

/**
 * What a source writes for a required field it does not know, instead of inventing a value.
 * A report that is worth storing may lack facts the contract requires: Keycloak's replay
 * warning names a jti and a client but no realm, address or grant; the tap cannot read a form
 * beyond its capture limit. Such fields take these values, which say "not logged", and v1
 * stays what it was: every field still required, every v1 event still valid.
 */
export const UNKNOWN = 'unknown';
/**
 * The unspecified address (RFC 4291 §2.5.2: "indicates the absence of an address"): source_ip
 * of a request whose origin the source did not log. Enrichment labels it ip_scope
 * `unspecified` and looks nothing up for it.
 */
export const UNSPECIFIED_IP = '::';

// Bounds keep a corrupt timestamp (seconds sent as milliseconds, a year 50000) out of storage.
// The upper bound follows the clock: a request cannot have happened in the future, and a row
// dated decades ahead would also wrap its TTL (a DateTime, which ends in 2106) and be deleted
// at the next merge. A day of slack covers an IdP whose clock runs ahead.
const EARLIEST_MS = Date.UTC(2000, 0, 1);
export const MAX_AHEAD_OF_CLOCK_MS = DAY_MS;

// One check, run once either form was accepted, turns an RFC 3339 time into epoch milliseconds
// and applies both bounds. Not a `.transform()` on the string form: zod's pipe and transform cost
// about a microsecond per event on their own, more than the regex and Date.parse together
// (bench:decode-style A/B, docs/benchmarks.md), for a conversion a check can make in place as
// `.overwrite()` does. Zod types a check's output as its input, so the schema's output type is
// stated here: what this check leaves is always a number.
const epochMillis = z
  .union([z.iso.datetime({ offset: true, local: false, error: 'expected an RFC 3339 timestamp' }), z.number().int('expected epoch milliseconds')])
  .check((payload) => {
    const ms = typeof payload.value === 'string' ? Date.parse(payload.value) : payload.value;
    payload.value = ms;
    if (ms < EARLIEST_MS) payload.issues.push({ code: 'custom', message: 'time must be 2000-01-01 or later', input: ms });
    else if (ms > Date.now() + MAX_AHEAD_OF_CLOCK_MS) {
      payload.issues.push({ code: 'custom', message: 'time is more than a day ahead of this clock (a wrong IdP clock or a corrupt timestamp)', input: ms });
    }
  }) as unknown as z.ZodType<number, string | number>;

const ipAddress = z
  .string()
  .refine((value) => isIPv4(value) || (isIPv6(value) && !value.includes('%')), 'expected an IPv4 or IPv6 address');

/**
 * JWT NumericDate: seconds since the epoch (RFC 7519 §2), within what DateTime stores (until
 * 2106). `z.uint32()` is `z.number().int().nonnegative().max(4_294_967_295)` in one check, with
 * the same messages and JSON Schema.
 */
const numericDate = z.uint32();

/**
 * Strings must be well-formed UTF-16: JSON can spell a lone surrogate (`"\ud800"`), JSON.parse
 * and zod accept it, JSON.stringify writes it back as `\ud800`, and ClickHouse then refuses the
 * whole insert, every event of the batch with it. So every string is decided here, per field:
 *
 * - an identifier (ids, tenant, client, grant, credential, scopes, audience, assertion claims)
 *   is refused, and the event dead-lettered with a reason naming the field: replacing the lone
 *   surrogate with U+FFFD would make distinct values equal (`\ud800` and `\udbff` both become
 *   `\ufffd`), so two clients or two jtis could merge into one, faking a replay or hiding a
 *   client inside another's baseline;
 * - free text that is only read by people (client_name, error_code, user_agent, geo names) is
 *   made well-formed, each lone surrogate becoming U+FFFD: nothing compares it for identity,
 *   and refusing the event would let whoever writes a user agent keep a request out of storage.
 *
 * Identifiers are refused by one check over the whole validated event (illFormedPath), not
 * one refinement per field: a refinement is a pass of zod's check loop per string per event.
 * Once the fields are parsed, free text has been made well-formed and enums and addresses are
 * well-formed by their own checks, so any ill-formed string left is an identifier's, and a
 * string field added later is covered without being listed.
 */
const WELL_FORMED = 'holds a lone UTF-16 surrogate (ill-formed Unicode)';
const identifier = (max: number) => z.string().check(lengthWithin(0, max));
const requiredIdentifier = (max: number) => z.string().check(lengthWithin(1, max));
const freeText = (max: number) => z.string().check(lengthWithin(0, max, (value) => value.toWellFormed()));

/**
 * A string's length bounds (and, for free text, its repair) as one check, where `.min().max()
 * .overwrite()` are up to three: every check is a pass of zod's check loop (a `when` call, an
 * abort test, an issue count), per string per event, and one per string is what the schema
 * costs most (bench:decode). It behaves as zod's own length checks do: lengths in code points
 * (a UTF-16 count decides unless the string is within a factor 2 of a bound), the same
 * `too_small`/`too_big` issues and so the same messages. It records its bounds in the schema's
 * bag, as `.min()`/`.max()` do, which is where z.toJSONSchema reads minLength/maxLength: the
 * published JSON Schema stays the same (test/unit/json-schema.test.ts).
 */
function lengthWithin(min: number, max: number, repair?: (value: string) => string): z.core.$ZodCheck<string> {
  const check = z.check<string>((payload) => {
    const value = payload.value;
    const units = value.length;
    if (units > max && z.core.util.codePointLength(value) > max) {
      payload.issues.push({ origin: 'string', code: 'too_big', maximum: max, inclusive: true, input: value, inst: check, continue: true });
    } else if (units < min || (units < 2 * min && z.core.util.codePointLength(value) < min)) {
      payload.issues.push({ origin: 'string', code: 'too_small', minimum: min, inclusive: true, input: value, inst: check, continue: true });
    }
    if (repair) payload.value = repair(value);
  });
  check._zod.onattach.push((schema) => {
    const bag = schema._zod.bag;
    if (min > 0) bag.minimum = min;
    bag.maximum = max;
  });
  return check;
}

/**
 * The path of the first ill-formed string in a validated value, or undefined. It walks the
 * schema's output, never the input: its depth is the schema's (three levels), and it allocates
 * only on failure.
 */
function illFormedPath(value: unknown): Array<string | number> | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : [];
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const inner = illFormedPath(value[i]);
      if (inner) return [i, ...inner];
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const inner = illFormedPath(record[key]);
    if (inner) return [key, ...inner];
  }
  return undefined;
}

export const assertionClaimsSchema = z.object({
  jti: identifier(256).optional(),
  iat: numericDate.optional(),
  exp: numericDate.optional(),
  iss: identifier(512).optional(),
  sub: identifier(512).optional(),
  aud: z.union([identifier(1024), z.array(identifier(1024)).max(16)]).optional(),
  kid: identifier(256).optional(),
  alg: identifier(32).optional(),
});

export const geoSchema = z.object({
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expected an ISO 3166 alpha-2 country code')
    .optional(),
  city: freeText(128).optional(),
  asn: z.number().int().nonnegative().max(4_294_967_295).optional(),
  as_org: freeText(256).optional(),
});

export const tokenRequestSchema = z.object({
  event_id: requiredIdentifier(256),
  time: epochMillis,
  idp: z.enum(IDPS),
  tenant: requiredIdentifier(256).describe(`The IdP tenant (org, realm, authorization server, issuer). "${UNKNOWN}" when the source did not log it.`),
  client_id: requiredIdentifier(256),
  client_name: freeText(256).optional(),
  grant_type: requiredIdentifier(128).describe(`The OAuth grant_type. "${UNKNOWN}" when the source did not log it.`),
  auth_method: z.enum(AUTH_METHODS),
  credential_id: identifier(256).optional(),
  outcome: z.enum(OUTCOMES),
  error_code: freeText(128).optional(),
  source_ip: ipAddress.describe(`The client's address. "${UNSPECIFIED_IP}" (the unspecified address) when the source did not log it.`),
  user_agent: freeText(1024).optional(),
  scopes: z.array(identifier(256)).max(256).default([]),
  audience: identifier(1024).optional(),
  assertion: assertionClaimsSchema.optional(),
  replay_reported: z
    .boolean()
    .optional()
    .describe(`The IdP rejected the request as a replayed client assertion (assertion.jti, when known, names it). Replay reports may carry "${UNKNOWN}" and "${UNSPECIFIED_IP}" for what the IdP's report did not name.`),
  assertion_unverified: z
    .boolean()
    .optional()
    .describe('The assertion claims (and a client_id read from them) are only what the caller wrote: the source read them from a request the IdP did not accept (the tap, on a refused request), so no signature check vouches for them. Absent: the source vouches for them (an IdP logs what it verified; the tap, an assertion the IdP answered with a token).'),
  geo: geoSchema.optional(),
}).check((payload) => {
  const path = illFormedPath(payload.value);
  if (path) payload.issues.push({ code: 'custom', message: WELL_FORMED, input: payload.value, path });
});

/** A validated event; `time` is epoch milliseconds whichever form it arrived in. */
export type TokenRequest = z.output<typeof tokenRequestSchema>;
/** What producers may send. */
export type TokenRequestInput = z.input<typeof tokenRequestSchema>;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export type Idp = (typeof IDPS)[number];
