import type { Severity, StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';

/**
 * Alerts as Slack Block Kit messages (and as plain text for the terminal): everything an
 * on-call engineer needs to act without opening anything else, inside Slack's limits. The
 * builders are pure; the sender and the lifecycle live elsewhere.
 */

/** Slack's documented limits (api.slack.com/reference/block-kit). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3_000,
  headerText: 150,
  fields: 10,
  fieldText: 2_000,
  contextElements: 10,
  contextText: 2_000,
  // `text` may be 40k, but notifications and screen readers use the start; keep it short.
  fallbackText: 3_000,
} as const;

export interface TextObject {
  readonly type: 'mrkdwn' | 'plain_text';
  readonly text: string;
}

export type Block =
  | { readonly type: 'header'; readonly text: TextObject }
  | { readonly type: 'section'; readonly text?: TextObject; readonly fields?: readonly TextObject[] }
  | { readonly type: 'context'; readonly elements: readonly TextObject[] }
  | { readonly type: 'divider' };

export interface SlackMessage {
  /** Plain-text fallback: notifications, screen readers, clients without Block Kit. */
  readonly text: string;
  readonly blocks: readonly Block[];
  /** True when something was shortened or left out to fit Slack's limits (the message says so). */
  readonly cut: boolean;
}

export interface MessageOptions {
  /** Where docs/detectors.md is published; unset shows the path as text. */
  readonly runbookBaseUrl?: string | undefined;
  /** A line shown in the message's footer (e.g. "possible duplicate"). */
  readonly note?: string | undefined;
}

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_circle:',
  low: ':large_yellow_circle:',
  info: ':information_source:',
};

const RUNBOOK_PATH = 'docs/detectors.md';

// Keys rendered by their own code below; every other evidence key is rendered generically.
const KNOWN_EVIDENCE_KEYS = new Set(['observed', 'baseline_median', 'baseline_mad', 'score', 'jti', 'source_ips']);

/** Escapes user data for mrkdwn: Slack requires &, < and > as entities (also inside code). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for inline code: escaped, and without backticks that would end the span early. */
function code(text: string): string {
  return `\`${escapeMrkdwn(text).replace(/`/g, 'ˋ')}\``;
}

/**
 * A ClickHouse string literal. Backslash and quote are escaped, and control characters become
 * escapes so the pasted query is one readable line per value.
 */
export function clickhouseString(value: string): string {
  const escaped = value.replace(/[\\'\u0000-\u001f\u007f]/g, (char) => {
    switch (char) {
      case '\\':
        return '\\\\';
      case "'":
        return "\\'";
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
  return `'${escaped}'`;
}

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}

const HOUR_MS = 3_600_000;

const JTI_DETECTORS = new Set(['jti_replay', 'jti_cross_client']);

/** The jti an alert is about, for jti detectors: from the evidence, else the alert key. */
function alertJti(alert: Pick<StoredAlert, 'detector' | 'alert_key' | 'evidence'>): string | undefined {
  if (!JTI_DETECTORS.has(alert.detector)) return undefined;
  const jti = alert.evidence.jti;
  return typeof jti === 'string' && jti !== '' ? jti : alert.alert_key || undefined;
}

/**
 * The query an engineer pastes into `tokenwatch sql` to see the requests behind an alert: the
 * client's requests from an hour before first_seen to an hour after last_seen (a cross-client
 * jti alert looks at every client of the tenant using that jti).
 */
export function investigationSql(alert: Pick<StoredAlert, 'detector' | 'tenant' | 'client_id' | 'alert_key' | 'evidence' | 'first_seen' | 'last_seen'>): string {
  const jti = alertJti(alert);
  const timeLiteral = (ms: number) => `toDateTime64(${clickhouseString(toClickHouseTime(ms))}, 3, 'UTC')`;
  const conditions = [`tenant = ${clickhouseString(alert.tenant)}`];
  if (alert.detector !== 'jti_cross_client' || !jti) conditions.push(`client_id = ${clickhouseString(alert.client_id)}`);
  conditions.push(`time BETWEEN ${timeLiteral(alert.first_seen - HOUR_MS)} AND ${timeLiteral(alert.last_seen + HOUR_MS)}`);
  if (jti) conditions.push(`assertion_jti = ${clickhouseString(jti)}`);
  return [
    'SELECT time, client_id, outcome, error_code, auth_method, source_ip, country, asn, as_org, assertion_jti, user_agent',
    'FROM token_requests',
    `WHERE ${conditions.join('\n  AND ')}`,
    'ORDER BY time',
    'LIMIT 1000',
  ].join('\n');
}

export function runbookReference(detector: string, baseUrl: string | undefined): { url?: string; text: string } {
  const anchor = detector.replace(/[^A-Za-z0-9_-]/g, '');
  if (!baseUrl) return { text: `${RUNBOOK_PATH}#${anchor}` };
  return { url: `${baseUrl}#${anchor}`, text: `${RUNBOOK_PATH}#${anchor}` };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** Epoch ms (as detectors store first_seen) or ISO text, shown as a date. */
function formatDate(value: unknown): string {
  if (typeof value === 'number' && value > 1e11) return new Date(value).toISOString().slice(0, 10);
  if (typeof value === 'string') return value.slice(0, 10);
  return String(value);
}

function humanKey(key: string): string {
  return key.replace(/_/g, ' ');
}

/** A scalar or small structure as one line of mrkdwn. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return escapeMrkdwn(value);
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value) && value.every((item) => item === null || typeof item !== 'object')) {
    return value.map((item) => renderValue(item)).join(', ');
  }
  if (!Array.isArray(value) && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => `${humanKey(key)}: ${inner !== null && typeof inner === 'object' ? code(JSON.stringify(inner)) : renderValue(inner)}`)
      .join(', ');
  }
  return code(JSON.stringify(value));
}

interface SourceIp {
  ip?: unknown;
  asn?: unknown;
  as_org?: unknown;
  country?: unknown;
  first_seen?: unknown;
  requests?: unknown;
}

function renderSourceIp(entry: unknown): string {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return `• ${renderValue(entry)}`;
  const ip = entry as SourceIp;
  const parts: string[] = [];
  const network = [ip.asn !== undefined && ip.asn !== null && ip.asn !== '' && ip.asn !== 0 ? `AS${String(ip.asn)}` : '', typeof ip.as_org === 'string' ? escapeMrkdwn(ip.as_org) : '']
    .filter(Boolean)
    .join(' ');
  if (network) parts.push(network);
  if (typeof ip.country === 'string' && ip.country) parts.push(escapeMrkdwn(ip.country));
  if (ip.first_seen !== undefined && ip.first_seen !== null) parts.push(`first seen ${formatDate(ip.first_seen)}`);
  if (typeof ip.requests === 'number') parts.push(`${formatNumber(ip.requests)} requests`);
  return `• ${code(String(ip.ip ?? '?'))}${parts.length > 0 ? ` — ${parts.join(', ')}` : ''}`;
}

/** Evidence as mrkdwn sections: the well-known keys first, then every other key by name. */
function evidenceSections(evidence: Readonly<Record<string, unknown>>): string[] {
  const lines: string[] = [];
  if (evidence.observed !== undefined) {
    const baseline: string[] = [];
    if (evidence.baseline_median !== undefined) baseline.push(`median ${renderValue(evidence.baseline_median)}`);
    if (evidence.baseline_mad !== undefined) baseline.push(`MAD ${renderValue(evidence.baseline_mad)}`);
    lines.push(`*Observed:* ${renderValue(evidence.observed)}${baseline.length > 0 ? ` vs baseline ${baseline.join(', ')}` : ''}`);
  } else if (evidence.baseline_median !== undefined) {
    lines.push(`*Baseline:* median ${renderValue(evidence.baseline_median)}`);
  }
  if (evidence.score !== undefined) lines.push(`*Score:* ${renderValue(evidence.score)}`);
  if (typeof evidence.jti === 'string') lines.push(`*jti:* ${code(evidence.jti)}`);
  const sections: string[] = [];
  const complex: string[] = [];
  for (const [key, value] of Object.entries(evidence)) {
    if (KNOWN_EVIDENCE_KEYS.has(key)) continue;
    const isList = Array.isArray(value) && value.some((item) => item !== null && typeof item === 'object');
    if (isList) complex.push(`*${escapeMrkdwn(humanKey(key))}:*\n${(value as unknown[]).map((item) => `• ${renderValue(item)}`).join('\n')}`);
    else lines.push(`*${escapeMrkdwn(humanKey(key))}:* ${renderValue(value)}`);
  }
  if (lines.length > 0) sections.push(`*Evidence*\n${lines.join('\n')}`);
  if (Array.isArray(evidence.source_ips) && evidence.source_ips.length > 0) {
    sections.push(`*Source IPs (${evidence.source_ips.length})*\n${evidence.source_ips.map(renderSourceIp).join('\n')}`);
  }
  return [...sections, ...complex];
}

const CUT_NOTICE = (dropped: number) => `… _[cut: ${formatNumber(dropped)} more characters]_`;

/** Shortens text to `max` characters, saying how much was cut; code fences stay balanced. */
export function truncate(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  // Reserve room for the notice (and a closing fence) and cut at a line end when one is near.
  const room = max - CUT_NOTICE(text.length).length - 4;
  let end = room;
  const lineEnd = text.lastIndexOf('\n', room);
  if (lineEnd > room * 0.8) end = lineEnd;
  // Never end inside an entity such as &amp;.
  const amp = text.lastIndexOf('&', end);
  if (amp > end - 6 && !text.slice(amp, end).includes(';')) end = amp;
  let head = text.slice(0, end);
  const fences = head.split('```').length - 1;
  if (fences % 2 === 1) head += '```';
  return { text: `${head}\n${CUT_NOTICE(text.length - end)}`, cut: true };
}

/**
 * Puts a message inside Slack's limits: every text shortened to its maximum, at most 50
 * blocks. `tail` blocks (investigation, runbook, fingerprint) are always kept; `body` blocks
 * are dropped from the end when there are too many. Any cut is announced in the message.
 */
export function fitBlocks(head: readonly Block[], body: readonly Block[], tail: readonly Block[]): { blocks: Block[]; cut: boolean } {
  let cut = false;
  const fit = (block: Block): Block => {
    switch (block.type) {
      case 'header': {
        const text = block.text.text.length > SLACK_LIMITS.headerText ? `${block.text.text.slice(0, SLACK_LIMITS.headerText - 1)}…` : block.text.text;
        if (text !== block.text.text) cut = true;
        return { type: 'header', text: { type: 'plain_text', text } };
      }
      case 'section': {
        const result: { type: 'section'; text?: TextObject; fields?: TextObject[] } = { type: 'section' };
        if (block.text) {
          const shortened = truncate(block.text.text, SLACK_LIMITS.sectionText);
          cut ||= shortened.cut;
          result.text = { type: block.text.type, text: shortened.text };
        }
        if (block.fields) {
          if (block.fields.length > SLACK_LIMITS.fields) cut = true;
          result.fields = block.fields.slice(0, SLACK_LIMITS.fields).map((field) => {
            const shortened = truncate(field.text, SLACK_LIMITS.fieldText);
            cut ||= shortened.cut;
            return { type: field.type, text: shortened.text };
          });
        }
        return result;
      }
      case 'context': {
        if (block.elements.length > SLACK_LIMITS.contextElements) cut = true;
        return {
          type: 'context',
          elements: block.elements.slice(0, SLACK_LIMITS.contextElements).map((element) => {
            const shortened = truncate(element.text, SLACK_LIMITS.contextText);
            cut ||= shortened.cut;
            return { type: element.type, text: shortened.text };
          }),
        };
      }
      case 'divider':
        return block;
    }
  };
  // One block is kept free for the notice that something was cut.
  const room = SLACK_LIMITS.blocks - head.length - tail.length - 1;
  const kept = body.slice(0, Math.max(0, room));
  const dropped = body.length - kept.length;
  const blocks = [...head, ...kept, ...tail].map(fit);
  if (dropped > 0 || cut) {
    const what = dropped > 0 ? `${dropped} evidence block${dropped === 1 ? '' : 's'} left out` : 'long text shortened';
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `:scissors: Cut to fit Slack's limits (${what}); the SQL above shows everything.` }],
    });
    cut = true;
  }
  return { blocks: blocks.slice(0, SLACK_LIMITS.blocks), cut };
}

function fallbackText(text: string): string {
  return text.length <= SLACK_LIMITS.fallbackText ? text : `${text.slice(0, SLACK_LIMITS.fallbackText - 1)}…`;
}

function headline(alert: Pick<StoredAlert, 'severity' | 'detector' | 'status'>): string {
  const emoji = alert.status === 'resolved' ? ':white_check_mark:' : SEVERITY_EMOJI[alert.severity];
  return `${emoji} ${alert.severity.toUpperCase()} · ${alert.detector}${alert.status === 'resolved' ? ' · resolved' : ''}`;
}

function clientLine(alert: Pick<StoredAlert, 'client_name' | 'client_id'>): string {
  return alert.client_name && alert.client_name !== alert.client_id
    ? `*${escapeMrkdwn(alert.client_name)}* (${code(alert.client_id)})`
    : code(alert.client_id);
}

/** The root message of an alert. */
export function buildAlertMessage(alert: StoredAlert, options: MessageOptions = {}): SlackMessage {
  const runbook = runbookReference(alert.detector, options.runbookBaseUrl);
  const runbookText = runbook.url ? `<${runbook.url}|Runbook: ${escapeMrkdwn(runbook.text)}>` : `Runbook: ${code(runbook.text)}`;
  const head: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: headline(alert) } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(alert.summary || `${alert.detector} fired for ${alert.client_id}`) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Client*\n${clientLine(alert)}` },
        { type: 'mrkdwn', text: `*Tenant*\n${code(alert.tenant)}` },
        { type: 'mrkdwn', text: `*Status*\n${alert.status === 'resolved' ? 'resolved' : 'firing'} · ${alert.severity}` },
        { type: 'mrkdwn', text: `*Requests*\n${formatNumber(alert.event_count)}` },
        { type: 'mrkdwn', text: `*First seen*\n${formatTime(alert.first_seen)}` },
        { type: 'mrkdwn', text: `*Last seen*\n${formatTime(alert.last_seen)}` },
      ],
    },
  ];
  const body: Block[] = evidenceSections(alert.evidence).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
  const footer: TextObject[] = [
    { type: 'mrkdwn', text: runbookText },
    { type: 'mrkdwn', text: `Fingerprint ${code(alert.alert_id)}` },
  ];
  if (options.note) footer.push({ type: 'mrkdwn', text: `:warning: ${escapeMrkdwn(options.note)}` });
  const tail: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Investigate* (paste into \`tokenwatch sql\`):\n\`\`\`${escapeMrkdwn(investigationSql(alert))}\`\`\`` },
    },
    { type: 'context', elements: footer },
  ];
  const { blocks, cut } = fitBlocks(head, body, tail);
  const text = fallbackText(
    `${alert.severity.toUpperCase()} ${alert.detector}${alert.status === 'resolved' ? ' (resolved)' : ''}: ${escapeMrkdwn(alert.summary)} ` +
      `Client ${escapeMrkdwn(alert.client_name || alert.client_id)} (${escapeMrkdwn(alert.client_id)}), tenant ${escapeMrkdwn(alert.tenant)}, ` +
      `${formatNumber(alert.event_count)} requests, last seen ${formatTime(alert.last_seen)}. Fingerprint ${alert.alert_id}.`,
  );
  return { text, blocks, cut };
}

export type ChangeKind = 'repeat' | 'escalated' | 'resolved' | 'refired';

/** What the alert was when Slack last heard of it. */
export interface NotifiedState {
  readonly severity: string;
  readonly status: string;
  readonly event_count: number;
}

/** How a new version differs from what was last sent, or undefined when nothing visible changed. */
export function classifyChange(alert: StoredAlert, previous: NotifiedState): ChangeKind | undefined {
  if (alert.status === 'resolved' && previous.status !== 'resolved') return 'resolved';
  if (alert.status === 'firing' && previous.status === 'resolved') return 'refired';
  if (previous.severity !== alert.severity) return 'escalated';
  if (alert.event_count !== previous.event_count) return 'repeat';
  return undefined;
}

/** A thread reply about a change to an alert that already has a root message. */
export function buildReplyMessage(alert: StoredAlert, previous: NotifiedState, kind: ChangeKind): SlackMessage {
  const growth = alert.event_count - previous.event_count;
  const counts = `${formatNumber(alert.event_count)} requests so far${growth > 0 ? ` (+${formatNumber(growth)})` : ''}, last seen ${formatTime(alert.last_seen)}`;
  const line = {
    repeat: `:repeat: Seen again: ${counts}.`,
    escalated: `:arrow_up: Escalated from ${escapeMrkdwn(previous.severity)} to *${alert.severity}*: ${counts}.`,
    resolved: `:white_check_mark: Resolved: nothing new since ${formatTime(alert.last_seen)} (${formatNumber(alert.event_count)} requests in all).`,
    refired: `:rotating_light: Firing again (${alert.severity}): ${counts}.`,
  }[kind];
  const summary = kind === 'resolved' ? '' : `\n${escapeMrkdwn(alert.summary)}`;
  const { blocks, cut } = fitBlocks(
    [{ type: 'section', text: { type: 'mrkdwn', text: `${line}${summary}` } }],
    [],
    [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Fingerprint ${code(alert.alert_id)}` }] }],
  );
  return { text: fallbackText(`${alert.detector} ${alert.client_id}: ${line.replace(/^:[a-z_]+: /, '')}`), blocks, cut };
}

/** The one message sent instead of many when a channel gets a storm of new alerts. */
export function buildDigestMessage(alerts: readonly StoredAlert[]): SlackMessage {
  const bySeverity = new Map<string, number>();
  for (const alert of alerts) bySeverity.set(alert.severity, (bySeverity.get(alert.severity) ?? 0) + 1);
  const counts = [...bySeverity.entries()].map(([severity, n]) => `${n} ${severity}`).join(', ');
  const lines = alerts.map(
    (alert) => `• ${SEVERITY_EMOJI[alert.severity]} *${alert.severity}* ${escapeMrkdwn(alert.detector)} — ${clientLine(alert)} in ${code(alert.tenant)}`,
  );
  const { blocks, cut } = fitBlocks(
    [
      { type: 'header', text: { type: 'plain_text', text: `:rotating_light: Alert storm: ${alerts.length} new alerts` } },
      { type: 'section', text: { type: 'mrkdwn', text: `${alerts.length} alerts (${counts}) arrived within a minute. Each one is in this thread.` } },
    ],
    [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }],
    [],
  );
  return { text: fallbackText(`Alert storm: ${alerts.length} new alerts (${counts}); details in the thread.`), blocks, cut };
}

/** An alert as readable plain text, for the terminal when Slack is not configured. */
export function renderAlertPlain(alert: StoredAlert, options: { runbookBaseUrl?: string | undefined; change?: ChangeKind | 'new' } = {}): string {
  const runbook = runbookReference(alert.detector, options.runbookBaseUrl);
  const change = options.change && options.change !== 'new' ? ` (${options.change})` : '';
  const evidence = evidenceSections(alert.evidence)
    .join('\n')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\*/g, '')
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return [
    `[${alert.severity.toUpperCase()}] ${alert.detector} ${alert.status}${change}: client ${alert.client_name || alert.client_id} (${alert.client_id}), tenant ${alert.tenant}`,
    `  ${alert.summary}`,
    `  ${formatNumber(alert.event_count)} requests, ${formatTime(alert.first_seen)} → ${formatTime(alert.last_seen)}`,
    ...(evidence.trim() ? [evidence] : []),
    `  investigate: ${investigationSql(alert).replace(/\n\s*/g, ' ')}`,
    `  runbook: ${runbook.url ?? runbook.text}   fingerprint: ${alert.alert_id}`,
  ].join('\n');
}
