import { isIP } from 'node:net';
import { UNKNOWN, UNSPECIFIED_IP, type AuthMethod } from '@tokenwatch/shared/events/token-request';
import { stableEventId } from './event-id.js';
import { mapAuthMethod, type FormatAdapter } from './types.js';
import { deadLetter, parsed, type Adapted, type Parsed } from '../results.js';
import { candidate, isObject, resultsFor, scopesOf } from './fields.js';
import { rawJson } from './raw.js';

const { dlq, skip } = resultsFor('keycloak');

/**
 * Keycloak, in the three shapes its client token requests reach us:
 *
 * 1. Admin REST `EventRepresentation` JSON (GET /admin/realms/{realm}/events): `time` (epoch ms),
 *    `type`, `realmId`, `clientId`, `userId`, `sessionId`, `ipAddress`, `error`, `details`
 *    (string map: `grant_type`, `client_auth_method`, `scope`, `token_id`, ...); Keycloak 26
 *    adds `id`. A poller may add `realmName` (it is in the URL it polled).
 * 2. The `jboss-logging` event listener's line (category `org.keycloak.events`):
 *    `type="CLIENT_LOGIN", realmId="…", realmName="…", clientId="…", userId="…", ipAddress="…",
 *    grant_type="client_credentials", client_auth_method="client-secret", …` (values quoted and
 *    sanitised since Keycloak 23; before that unquoted, `'…'` around values with spaces), as a
 *    text line with or without the Quarkus prefix, or as the `message` of a Quarkus JSON log record.
 * 3. The server WARN logged when a client assertion's jti is replayed:
 *    `Token '<jti>' already used when for issuedFor '<client>'.` (AbstractBaseJWTValidator, 2025+)
 *    or `Token '<jti>' already used when authenticating client '<client>'.` (JWTClientValidator, before),
 *    as a text line (with the MDC as `{kc.realmName=…, …}` in its prefix when MDC logging is on) or
 *    as a Quarkus JSON log record (with an `mdc` object). It becomes a replay report: see replayReport.
 *
 * Only CLIENT_LOGIN (success) and CLIENT_LOGIN_ERROR (failure), the client_credentials grant's
 * event types, are token requests of a machine client; every other event is skipped.
 */

/** `details.client_auth_method` holds the client authenticator's provider id. */
const AUTH_METHODS: Readonly<Record<string, AuthMethod>> = {
  'client-secret': 'client_secret', // Keycloak accepts Basic or a form post and logs neither
  'client-jwt': 'private_key_jwt',
  'client-secret-jwt': 'client_secret_jwt',
  'client-x509': 'tls_client_auth',
  'federated-jwt': 'federated', // Keycloak 26.x federated client authentication (feature flag)
};

const OUTCOMES: ReadonlyMap<string, 'success' | 'failure'> = new Map([
  ['CLIENT_LOGIN', 'success'],
  ['CLIENT_LOGIN_ERROR', 'failure'],
]);

/** The OAuth error Keycloak answers a replayed client assertion with (RFC 7523 §3.2). */
const REPLAY_ERROR_CODE = 'invalid_client';

/**
 * The event details tokenwatch reads; every other detail is ignored. Keycloak 26 (seen on 26.5.6)
 * writes the verified client assertion's `jti`, `iss` and `sub` as `client_assertion_id`,
 * `client_assertion_issuer` and `client_assertion_sub`, on CLIENT_LOGIN and CLIENT_LOGIN_ERROR.
 */
const MAPPED_DETAILS = [
  'grant_type',
  'client_auth_method',
  'scope',
  'client_assertion_id',
  'client_assertion_issuer',
  'client_assertion_sub',
] as const;

/**
 * The longest log line (or JSON log record `message`) read, in UTF-16 code units. A Keycloak
 * event line is a few hundred characters, a few KB with every detail; a longer one is
 * dead-lettered with its length before any pattern looks at it, so no line costs more than this.
 */
export const MAX_LINE_LENGTH = 65_536;

// Every pattern below sees untrusted text, so each runs in time linear in the line: no two
// quantifiers that could both consume the same characters, no lazy `.*?` searching for a
// delimiter (scanning for one is done with indexOf, see findReplay and mdcFromPrefix).

// `type=` opens a user event, `operationType=` an admin event; the value is an enum name.
// Linear: a match can only start after a separator, `[A-Z0-9_]*` stops at the first other
// character, and what follows is literal, so each attempt reads one enum name at most.
const EVENT_BODY = /(?:^|[\s)\uFEFF])(type|operationType)=(["']?)[A-Z][A-Z0-9_]*\2, realmId=/;
// Any other line a Keycloak server logs with the default Quarkus format: `… LEVEL [org.keycloak.x] (thread) …`.
// Linear: `[\w.$]*` stops at `]` or whitespace, which no attempt can start inside.
const KEYCLOAK_CATEGORY = /\s\[org\.keycloak[\w.$]*\]\s/;
// The replay warning's fixed text around the jti and the client (see findReplay).
const REPLAY_OPENING = "Token '";
const REPLAY_MARKERS = ["' already used when for issuedFor '", "' already used when authenticating client '"] as const;

// `2026-11-28T01:02:03.456Z`, `2026-11-28 01:02:03,456+01:00` (syslog header, container runtime, %d{…XXX}).
// Linear: every quantifier is bounded (\d{2}, \d{1,9}), so an attempt reads at most 40 characters.
const ZONED_TIME = /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})/;
// Keycloak's default console/file format `%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c] (%t) %s%e%n`: no zone.
const LOCAL_TIME = /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?![\d:+Z-])/;

/** A Keycloak event's fields, whichever shape it came in. `null`/`"null"` values are absent. */
interface KeycloakEvent {
  readonly type: string;
  readonly realmId?: string;
  readonly realmName?: string;
  readonly clientId?: string;
  readonly ipAddress?: string;
  readonly error?: string;
  readonly details: ReadonlyMap<string, string>;
}

/**
 * Kept in `raw`, in the EventRepresentation shape whichever way the event came: the event's
 * fields, the details Keycloak itself writes for a client login (not `sessionId`, not any detail
 * a custom authenticator may add), for a replay warning its jti and client, and for a JSON log
 * record its logger context and the MDC's realm, client and address. A log line is never kept
 * as text: it is parsed, and only these fields of it survive.
 */
const RAW_FIELDS = [
  'id',
  'time',
  'type',
  'realmId',
  'realmName',
  'clientId',
  'userId',
  'ipAddress',
  'error',
  'details.grant_type',
  'details.client_auth_method',
  'details.scope',
  'details.username',
  'details.reason',
  'details.audience',
  'details.token_id',
  'details.not_before',
  // client_assertion_id/_issuer/_sub are not kept here: they are the canonical assertion's
  // jti, iss and sub already, and the allowlists never name a client_assertion field.
  'replay.jti',
  'replay.client',
  'log.timestamp',
  'log.level',
  'log.loggerName',
  'log.hostName',
  'mdc.realmName',
  'mdc.clientId',
  'mdc.ipAddress',
] as const;

/** Keys of a jboss-logging line that are EventRepresentation fields; the others are details. */
const LINE_EVENT_KEYS: ReadonlySet<string> = new Set(['type', 'realmId', 'realmName', 'clientId', 'userId', 'sessionId', 'ipAddress', 'error']);

export const keycloakFormat: FormatAdapter = {
  name: 'keycloak',
  rawFields: RAW_FIELDS,

  matches: (record) => isEventRepresentation(record) || isAdminEventRepresentation(record) || isKeycloakJsonLog(record),

  adapt(record) {
    if (isKeycloakJsonLog(record)) return [adaptJsonLog(record)];
    if (isAdminEventRepresentation(record)) return [skip('admin event, not a token request')];
    return [adaptRepresentation(record)];
  },

  // An over-long first line is judged by its beginning, where the prefix and the event are;
  // adaptText then dead-letters it for its length.
  matchesText: (text) => {
    const line = firstLine(text);
    return line !== undefined && isKeycloakLine(line.slice(0, MAX_LINE_LENGTH));
  },

  adaptText(text) {
    const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
    if (lines.length === 0) return [dlq('empty log line')];
    return lines.map((line) =>
      line.length > MAX_LINE_LENGTH
        ? dlq(tooLong('log line', line.length))
        : (adaptLine(line, stableEventId('keycloak', line), timeFromPrefix) ?? dlq(UNRECOGNISED)),
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Admin REST EventRepresentation

function isEventRepresentation(record: Record<string, unknown>): boolean {
  return typeof record.type === 'string' && 'realmId' in record && 'time' in record;
}

function isAdminEventRepresentation(record: Record<string, unknown>): boolean {
  return typeof record.operationType === 'string' && 'realmId' in record && 'authDetails' in record;
}

function adaptRepresentation(record: Record<string, unknown>): Adapted {
  const type = record.type;
  // matches() checked this, but a forced format (--format) calls adapt on any record.
  if (typeof type !== 'string') return dlq('type is missing or not a string');
  if (!OUTCOMES.has(type)) return skip(`event type ${type} is not a client token request`);

  if (typeof record.time !== 'number' || !Number.isInteger(record.time)) return dlq('time is missing or not epoch milliseconds');

  const strings: Record<string, string | undefined> = {};
  for (const key of ['realmId', 'realmName', 'clientId', 'ipAddress', 'error'] as const) {
    const value = record[key];
    if (value !== undefined && value !== null && typeof value !== 'string') return dlq(`${key} is not a string`);
    strings[key] = present(value as string | null | undefined);
  }

  const details = new Map<string, string>();
  if (record.details !== undefined && record.details !== null) {
    if (!isObject(record.details)) return dlq('details is not an object');
    // Only the keys we map are read: details may carry anything a custom authenticator put there.
    for (const key of MAPPED_DETAILS) {
      const value = record.details[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') return dlq(`details.${key} is not a string`);
      const kept = present(value);
      if (kept !== undefined) details.set(key, kept);
    }
  }

  const eventId = typeof record.id === 'string' && record.id !== '' ? record.id : stableEventId('keycloak', record);
  return toTokenRequest({ type, ...strings, details }, eventId, record.time, record);
}

// ---------------------------------------------------------------------------------------------
// Log lines: jboss-logging events and the replay warning

function isKeycloakLine(line: string): boolean {
  return EVENT_BODY.test(line) || findReplay(line) !== undefined || KEYCLOAK_CATEGORY.test(line);
}

function tooLong(what: string, length: number): string {
  return `${what} is ${length} characters long, over the ${MAX_LINE_LENGTH} a Keycloak log line may have`;
}

/** Where a replay warning's message starts (the prefix ends) and what it names. */
interface ReplayWarning {
  readonly prefixEnd: number;
  readonly jti: string;
  readonly client: string;
}

/**
 * `Token '<jti>' already used when for issuedFor '<client>'.` (or `… authenticating client
 * '<client>'.`) at the end of a line, after the log prefix. Scanned with indexOf, in linear time
 * whatever the line holds: the message opens at the first `Token '` that starts a word, the jti
 * runs to the first marker after it, the client to the line's last quote (a trailing `.` and
 * spaces aside), so a jti or client that itself holds quotes is read whole.
 */
function findReplay(line: string): ReplayWarning | undefined {
  const end = line.trimEnd();
  const closing = end.endsWith("'.") ? end.length - 2 : end.endsWith("'") ? end.length - 1 : -1;
  if (closing < 0) return undefined;
  let opening = line.indexOf(REPLAY_OPENING);
  while (opening > 0 && !startsWord(line.charAt(opening - 1))) opening = line.indexOf(REPLAY_OPENING, opening + 1);
  if (opening < 0) return undefined;
  const jtiStart = opening + REPLAY_OPENING.length;
  let marker: { at: number; length: number } | undefined;
  for (const text of REPLAY_MARKERS) {
    const at = line.indexOf(text, jtiStart);
    if (at >= 0 && (marker === undefined || at < marker.at)) marker = { at, length: text.length };
  }
  if (marker === undefined || marker.at + marker.length > closing) return undefined;
  return {
    prefixEnd: opening === 0 ? 0 : opening - 1,
    jti: line.slice(jtiStart, marker.at),
    client: line.slice(marker.at + marker.length, closing),
  };
}

/** The message follows the log prefix after whitespace, a `)` (the thread) or a BOM. */
function startsWord(previous: string): boolean {
  return previous === ')' || previous === '\uFEFF' || previous.trim() === '';
}

const UNRECOGNISED = 'unrecognised log line: neither a jboss-logging event nor a replay warning';

/**
 * One log line, or undefined when it is neither an event, a replay warning nor another Keycloak
 * server line. `timeOf` gets the text before the event (the log prefix) and returns the time:
 * text lines read it from the prefix, JSON log records from their `timestamp` field.
 */
function adaptLine(
  line: string,
  eventId: string,
  timeOf: (prefix: string) => Parsed<number>,
  mdc?: Mdc,
  context: Record<string, unknown> = {},
): Adapted | undefined {
  const body = EVENT_BODY.exec(line);
  if (body) {
    if (body[1] === 'operationType') return skip('admin event, not a token request');
    const start = body.index + body[0].indexOf(body[1] ?? 'type');
    const fields = parseKeyValues(line.slice(start));
    if (fields.kind === 'dlq') return dlq(fields.reason);
    const type = fields.value.get('type') ?? '';
    if (!OUTCOMES.has(type)) return skip(`event type ${type} is not a client token request`);
    const time = timeOf(line.slice(0, start));
    if (time.kind === 'dlq') return dlq(time.reason);
    return toTokenRequest(eventFromLine(type, fields.value), eventId, time.value, { ...context, ...representationOf(fields.value) });
  }

  const replay = findReplay(line);
  if (replay) {
    const prefix = line.slice(0, replay.prefixEnd);
    const time = timeOf(prefix);
    if (time.kind === 'dlq') return dlq(time.reason);
    // A JSON record brings its `mdc` object; a text line may carry the MDC in its prefix.
    const lineMdc = mdc ?? mdcFromPrefix(prefix);
    const source = {
      ...context,
      ...(mdc === undefined && lineMdc !== undefined ? { mdc: mdcContext(lineMdc) } : {}),
      replay: { jti: replay.jti, client: replay.client },
    };
    return replayReport(replay.jti, present(replay.client), time.value, eventId, lineMdc, source);
  }

  if (KEYCLOAK_CATEGORY.test(line)) return skip('server log line, not an event');
  return undefined;
}

/** A line's key=value pairs in the EventRepresentation shape, for `raw` (which keeps only RAW_FIELDS of it). */
function representationOf(fields: ReadonlyMap<string, string>): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  const details: Record<string, unknown> = {};
  for (const [key, value] of fields) {
    const kept = present(value) ?? null;
    if (LINE_EVENT_KEYS.has(key)) event[key] = kept;
    else details[key] = kept;
  }
  return { ...event, details };
}

function eventFromLine(type: string, fields: ReadonlyMap<string, string>): KeycloakEvent {
  // Only the details we map are kept: a line may carry anything a custom authenticator added.
  const details = new Map<string, string>();
  for (const key of MAPPED_DETAILS) {
    const kept = present(fields.get(key));
    if (kept !== undefined) details.set(key, kept);
  }
  return {
    type,
    realmId: present(fields.get('realmId')),
    realmName: present(fields.get('realmName')),
    clientId: present(fields.get('clientId')),
    ipAddress: present(fields.get('ipAddress')),
    error: present(fields.get('error')),
    details,
  };
}

/**
 * `key=value` pairs separated by `, `. A value is `"…"` (Keycloak 23+, `\"` escapes a quote),
 * `'…'` (the `quotes` option set to `'`, or before Keycloak 23 around values holding a space),
 * `[…]` (the trace-level `cookies=` list), or bare text up to the next `, key=`.
 */
function parseKeyValues(body: string): Parsed<Map<string, string>> {
  const fields = new Map<string, string>();
  const keyPattern = /[A-Za-z_][\w.-]*(?==)/y;
  let i = 0;
  while (i < body.length) {
    keyPattern.lastIndex = i;
    const keyMatch = keyPattern.exec(body);
    if (!keyMatch) return deadLetter(`malformed event line: expected key=value at offset ${i}`);
    const key = keyMatch[0];
    i += key.length + 1;
    const open = body[i];
    let value: string;
    if (open === '"' || open === "'") {
      // The value runs to the first quote not escaped with a backslash; `\"` stands for `"`.
      const parts: string[] = [];
      let from = i + 1;
      let close = body.indexOf(open, from);
      while (close !== -1 && body[close - 1] === '\\' && close - 1 >= from) {
        parts.push(body.slice(from, close - 1), open);
        from = close + 1;
        close = body.indexOf(open, from);
      }
      if (close === -1) return deadLetter(`malformed event line: unterminated value of ${key}`);
      parts.push(body.slice(from, close));
      value = parts.join('');
      i = close + 1;
    } else if (open === '[') {
      const close = body.indexOf(']', i);
      if (close === -1) return deadLetter(`malformed event line: unterminated value of ${key}`);
      value = body.slice(i + 1, close);
      i = close + 1;
    } else {
      const next = /, [A-Za-z_][\w.-]*=/g;
      next.lastIndex = i;
      const found = next.exec(body);
      const end = found ? found.index : body.length;
      value = body.slice(i, end);
      i = end;
    }
    if (!fields.has(key)) fields.set(key, value);
    if (i >= body.length) break;
    if (!body.startsWith(', ', i)) return deadLetter(`malformed event line: unexpected text after the value of ${key}`);
    i += 2;
  }
  return parsed(fields);
}

/**
 * The time of a text line, from its prefix. A zoned timestamp (syslog header, container runtime,
 * a format with `%d{…XXX}`) is exact. Keycloak's default format has no zone: it is read as UTC,
 * the zone of the official container image; a server on local time should log with an offset
 * (`--log-console-format` / `--log-file-format` with `%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX}`) or as JSON.
 * A line shipped without any timestamp is dead-lettered, never stamped with the time of arrival.
 */
function timeFromPrefix(prefix: string): Parsed<number> {
  const zoned = ZONED_TIME.exec(prefix);
  if (zoned) return zonedTime(zoned);
  const local = LOCAL_TIME.exec(prefix);
  if (local) {
    const [, y, mo, d, h, mi, s, fraction] = local;
    const ms = Number((fraction ?? '0').padEnd(3, '0').slice(0, 3));
    const time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
    const check = new Date(time);
    if (check.getUTCMonth() + 1 !== Number(mo) || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) {
      return deadLetter('log line timestamp is not a valid date');
    }
    return parsed(time);
  }
  return deadLetter('log line has no timestamp: ship lines with their log prefix (yyyy-MM-dd HH:mm:ss,SSS) or as JSON logs');
}

function zonedTime(match: RegExpExecArray): Parsed<number> {
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const ms = (fraction ?? '0').padEnd(3, '0').slice(0, 3);
  const offset = zone === 'Z' ? 'Z' : `${zone?.slice(0, 3)}:${zone?.slice(-2)}`;
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${offset}`);
  return Number.isNaN(time) ? deadLetter('log line timestamp is not a valid date') : parsed(time);
}

// ---------------------------------------------------------------------------------------------
// Quarkus JSON log records (`--log-console-output=json`, default or ECS field names)

type Mdc = Readonly<Record<string, unknown>>;

function loggerName(record: Record<string, unknown>): unknown {
  return record.loggerName ?? record['log.logger'];
}

function isKeycloakJsonLog(record: Record<string, unknown>): boolean {
  const logger = loggerName(record);
  return typeof record.message === 'string' && typeof logger === 'string' && logger.startsWith('org.keycloak');
}

/** The MDC entries kept in `raw` (RAW_FIELDS lists them as `mdc.*`). */
function mdcContext(mdc: Mdc | undefined): Record<string, unknown> {
  return { realmName: mdc?.['kc.realmName'], clientId: mdc?.['kc.clientId'], ipAddress: mdc?.['kc.ipAddress'] };
}

/**
 * The MDC a text line printed with `%X` (`{kc.clientId=svc, kc.realmName=acme}`), if any: the
 * whole MDC, which Keycloak's default format gains with `--log-mdc-enabled`
 * (`%d{…} %X %-5p [%c] (%t) %s%e%n`, LoggingPropertyMappers). Values are unquoted: the block
 * opens at the first `{` followed by `key=` and ends at the first `}` after it that is followed
 * by the level and `[category]`. Scanned with indexOf, in linear time.
 */
function mdcFromPrefix(prefix: string): Mdc | undefined {
  let open = prefix.indexOf('{');
  while (open !== -1 && !opensMdcEntry(prefix, open + 1)) open = prefix.indexOf('{', open + 1);
  if (open === -1) return undefined;
  let close = prefix.indexOf('}', open);
  while (close !== -1 && !LEVEL_AND_CATEGORY.test(prefix.slice(close + 1, close + 1 + LEVEL_AND_CATEGORY_MAX))) {
    close = prefix.indexOf('}', close + 1);
  }
  if (close === -1) return undefined;
  const mdc: Record<string, string> = {};
  // Entries are `key=value` joined by `, `; a value may itself hold `, ` (split before keys only).
  // Linear: a lookahead reads one key, which ends at the first character not in [\w.-].
  for (const entry of prefix.slice(open + 1, close).split(/, (?=[\w.-]+=)/)) {
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals);
    if (key.startsWith('kc.')) mdc[key] = entry.slice(equals + 1);
  }
  return mdc;
}

/** `key=` right after the `{` at `from`: a key is `[\w.-]+` (the MDC's keys are `kc.realmName` and the like). */
function opensMdcEntry(prefix: string, from: number): boolean {
  let i = from;
  while (i < prefix.length && MDC_KEY_CHARACTER.test(prefix.charAt(i))) i += 1;
  return i > from && prefix.charAt(i) === '=';
}

const MDC_KEY_CHARACTER = /^[\w.-]$/;
// What follows the MDC block: ` INFO  [org.keycloak…`. Tested on a bounded slice after each `}`
// (a level and the spaces around it are short), so scanning all of them stays linear.
const LEVEL_AND_CATEGORY = /^\s+[A-Z]+\s+\[/;
const LEVEL_AND_CATEGORY_MAX = 32;

function adaptJsonLog(record: Record<string, unknown>): Adapted {
  const message = (record.message as string).trim();
  if (message.length > MAX_LINE_LENGTH) return dlq(tooLong('message', message.length));
  const mdc = isObject(record.mdc) ? record.mdc : undefined;
  const timeOf = (): Parsed<number> => {
    const stamp = record.timestamp ?? record['@timestamp'];
    const match = typeof stamp === 'string' ? ZONED_TIME.exec(stamp) : null;
    return match ? zonedTime(match) : deadLetter('timestamp is missing or not an RFC 3339 time with a zone');
  };
  // Any other record of an org.keycloak logger is server chatter, not a malformed event.
  const context = {
    log: {
      timestamp: record.timestamp ?? record['@timestamp'],
      level: record.level ?? record['log.level'],
      loggerName: loggerName(record),
      hostName: record.hostName ?? record['host.hostname'],
    },
    mdc: mdcContext(mdc),
  };
  return adaptLine(message, stableEventId('keycloak', record), timeOf, mdc, context) ?? skip('server log record, not an event');
}

// ---------------------------------------------------------------------------------------------
// Building the candidate events

function toTokenRequest(event: KeycloakEvent, eventId: string, time: number, source: Record<string, unknown>): Adapted {
  const tenant = event.realmName ?? event.realmId;
  if (tenant === undefined) return dlq('realmId and realmName are missing');
  if (event.clientId === undefined) return dlq(`clientId is missing on ${event.type}`);
  const grantType = event.details.get('grant_type');
  if (grantType === undefined) return dlq(`details.grant_type is missing on ${event.type}`);
  if (event.ipAddress === undefined) return dlq(`ipAddress is missing on ${event.type}`);

  // Keycloak writes client_auth_method only once a client authenticated, so a CLIENT_LOGIN_ERROR
  // lacks it: its method is `unknown`, even when it carries an assertion (client-jwt and
  // client-secret-jwt failures log the same fields, and nothing else tells them apart).
  const { method, unknownAuthMethod } = mapAuthMethod(event.details.get('client_auth_method'), AUTH_METHODS);
  const outcome = OUTCOMES.get(event.type) ?? 'failure';
  const scope = event.details.get('scope');
  const assertion = assertionOf(event.details);
  const tokenRequest: Record<string, unknown> = {
    event_id: eventId,
    time,
    idp: 'keycloak',
    tenant,
    client_id: event.clientId,
    grant_type: grantType,
    auth_method: method,
    outcome,
    ...(outcome === 'failure' && event.error !== undefined ? { error_code: event.error } : {}),
    source_ip: event.ipAddress,
    scopes: scopesOf(scope) ?? [],
    ...(assertion === undefined ? {} : { assertion }),
    // On a CLIENT_LOGIN_ERROR the claims are those of an assertion Keycloak refused: a forged
    // signature, an expired or misaddressed one, or a replay all log the same fields.
    ...(assertion !== undefined && outcome === 'failure' ? { assertion_unverified: true } : {}),
  };
  return candidate(tokenRequest, rawJson(source, RAW_FIELDS), unknownAuthMethod);
}

/** The client assertion's claims the event names (its jti, issuer and subject), if any. */
function assertionOf(details: ReadonlyMap<string, string>): Record<string, string> | undefined {
  const claims: Record<string, string> = {};
  const jti = details.get('client_assertion_id');
  const iss = details.get('client_assertion_issuer');
  const sub = details.get('client_assertion_sub');
  if (jti !== undefined) claims.jti = jti;
  if (iss !== undefined) claims.iss = iss;
  if (sub !== undefined) claims.sub = sub;
  return Object.keys(claims).length === 0 ? undefined : claims;
}

/**
 * The replay warning names only the jti and a client: no realm, no IP, no grant type. With
 * Keycloak's MDC logging on (`--log-mdc-enabled`; `ipAddress` is not among the default
 * `--log-mdc-keys`) the JSON record's `mdc`, or the text line's `{…}` prefix, supplies
 * `kc.realmName`, `kc.clientId` and `kc.ipAddress`. What none of them names is written as
 * TokenRequest v1's "not logged" values, never guessed: tenant `unknown`, source_ip `::`
 * (enrichment labels it ip_scope `unspecified`), grant_type `unknown`, auth_method `unknown`.
 * The 2025+ message names the assertion's `azp` (`issuedFor`), which client assertions rarely
 * carry: it then reads `issuedFor 'null'` (as Keycloak 26.5.6 logs every replay of an assertion
 * without `azp`) and the client comes from the MDC or nowhere: client_id `unknown`. Such a report
 * is kept, not dead-lettered: it is the IdP's own word that the jti was replayed. It cannot be
 * joined statelessly to the CLIENT_LOGIN_ERROR Keycloak logs next (another log record, so another
 * message); that event carries the realm, the client and the same jti (`client_assertion_id`),
 * so with the earlier CLIENT_LOGIN it already makes two uses of one jti by one client.
 */
function replayReport(
  jti: string,
  namedClient: string | undefined,
  time: number,
  eventId: string,
  mdc: Mdc | undefined,
  source: Record<string, unknown>,
): Adapted {
  const clientId = namedClient ?? mdcValue(mdc, 'kc.clientId') ?? UNKNOWN;
  const address = mdcValue(mdc, 'kc.ipAddress');
  return candidate(
    {
      event_id: eventId,
      time,
      idp: 'keycloak',
      tenant: mdcValue(mdc, 'kc.realmName') ?? UNKNOWN,
      client_id: clientId,
      // The assertion authenticated a client (client_credentials or any other grant) or, from
      // 2025, possibly was a JWT authorization grant's: the line does not say which.
      grant_type: UNKNOWN,
      // client-jwt or client-secret-jwt: the line does not say which.
      auth_method: 'unknown',
      outcome: 'failure',
      error_code: REPLAY_ERROR_CODE,
      // An MDC address that is not one (a proxy's placeholder) is as good as none.
      source_ip: address !== undefined && isIP(address) !== 0 && !address.includes('%') ? address : UNSPECIFIED_IP,
      scopes: [],
      assertion: { jti },
      replay_reported: true,
    },
    rawJson(source, RAW_FIELDS),
  );
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Keycloak prints a null field as `null` (bare or quoted): that is an absent value. */
function present(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value === '' || value === 'null' ? undefined : value;
}

function mdcValue(mdc: Mdc | undefined, key: string): string | undefined {
  const value = mdc?.[key];
  return typeof value === 'string' ? present(value) : undefined;
}

function firstLine(text: string): string | undefined {
  return text.split(/\r?\n/).find((line) => line.trim() !== '');
}

