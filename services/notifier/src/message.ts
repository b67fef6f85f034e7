import type { AlertStatus, Severity, StoredAlert, TriageAction } from '@tokenwatch/shared/alerts/alert';
import type { EvidenceField, EvidenceValue, ScalarKind } from '@tokenwatch/shared/alerts/evidence';
import type { FindingCatalog } from '@tokenwatch/shared/alerts/finding';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { HOUR_MS } from '@tokenwatch/shared/time';
import { FINDINGS } from '@tokenwatch/detector/findings';

/**
 * Alerts as Slack Block Kit messages (and as plain text for the terminal): everything an
 * on-call engineer needs to act without opening anything else, inside Slack's limits. The
 * builders are pure; the sender and the lifecycle live elsewhere. Evidence is rendered from
 * its finding's schema (labels and kinds, @tokenwatch/shared/alerts/evidence), never from key
 * names, so a new finding needs no change here.
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
  /** The findings to read evidence by; the detectors' own by default. */
  readonly findings?: FindingCatalog | undefined;
}

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_circle:',
  low: ':large_yellow_circle:',
  info: ':information_source:',
};

const RUNBOOK_PATH = 'docs/detectors.md';

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

/** The jti an alert is about: the value of its evidence's top-level jti field, when it has one. */
function alertJti(fields: readonly EvidenceField[]): string | undefined {
  for (const { value } of fields) {
    if (value.kind === 'jti' && typeof value.value === 'string' && value.value !== '') return value.value;
  }
  return undefined;
}

type InvestigatedAlert = Pick<StoredAlert, 'finding' | 'tenant' | 'client_id' | 'evidence' | 'first_seen' | 'last_seen'>;

/**
 * The query an engineer pastes into `tokenwatch sql` to see the requests behind an alert: the
 * client's requests from an hour before first_seen to an hour after last_seen, narrowed to the
 * jti when the evidence has one (a finding of tenant scope, such as a jti shared between
 * clients, looks at every client of the tenant using that jti).
 */
export function investigationSql(alert: InvestigatedAlert, findings: FindingCatalog = FINDINGS): string {
  const read = findings.read(alert);
  const jti = read.ok ? alertJti(read.evidence) : undefined;
  const timeLiteral = (ms: number) => `toDateTime64(${clickhouseString(toClickHouseTime(ms))}, 3, 'UTC')`;
  const conditions = [`tenant = ${clickhouseString(alert.tenant)}`];
  if (read.finding?.scope !== 'tenant' || !jti) conditions.push(`client_id = ${clickhouseString(alert.client_id)}`);
  conditions.push(`time BETWEEN ${timeLiteral(alert.first_seen - HOUR_MS)} AND ${timeLiteral(alert.last_seen + HOUR_MS)}`);
  if (jti) conditions.push(`assertion_jti = ${clickhouseString(jti)}`);
  return [
    'SELECT time, client_id, outcome, error_code, auth_method, source_ip, country, asn, as_org, assertion_jti, user_agent',
    'FROM token_requests FINAL',
    `WHERE ${conditions.join('\n  AND ')}`,
    'ORDER BY time',
    'LIMIT 1000',
  ].join('\n');
}

export function runbookReference(finding: string, baseUrl: string | undefined): { url?: string; text: string } {
  const anchor = finding.replace(/[^A-Za-z0-9_-]/g, '');
  if (!baseUrl) return { text: `${RUNBOOK_PATH}#${anchor}` };
  return { url: `${baseUrl}#${anchor}`, text: `${RUNBOOK_PATH}#${anchor}` };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function renderScalar(kind: ScalarKind, value: string | number | boolean | null): string {
  if (value === null) return 'none';
  switch (kind) {
    case 'id':
    case 'jti':
    case 'ip':
    case 'network':
      return value === '' ? 'none' : code(String(value));
    case 'asn':
      return typeof value === 'number' ? (value > 0 ? `AS${value}` : 'unknown') : escapeMrkdwn(String(value));
    case 'count':
    case 'number':
      return typeof value === 'number' ? formatNumber(value) : escapeMrkdwn(String(value));
    case 'flag':
      return typeof value === 'boolean' ? (value ? 'yes' : 'no') : escapeMrkdwn(String(value));
    case 'time': {
      const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isNaN(ms) ? escapeMrkdwn(String(value)) : formatTime(ms);
    }
    case 'text':
      return escapeMrkdwn(String(value));
  }
}

/** Nothing worth a line: an empty text or list, an unknown ASN, an absent value. */
function isEmpty(value: EvidenceValue): boolean {
  if (value.kind === 'list') return value.items.length === 0;
  if (value.kind === 'group') return value.fields.every((field) => isEmpty(field.value));
  return value.value === null || value.value === '' || (value.kind === 'asn' && value.value === 0);
}

/** A value on one line: scalars as they are, lists comma-separated, groups as `label: value` pairs. */
function renderInline(value: EvidenceValue): string {
  if (value.kind === 'list') return value.items.length === 0 ? 'none' : value.items.map(renderInline).join(', ');
  if (value.kind === 'group') return renderPairs(value.fields);
  return renderScalar(value.kind, value.value);
}

function renderPairs(fields: readonly EvidenceField[]): string {
  return fields
    .filter((field) => !isEmpty(field.value))
    .map((field) => `${escapeMrkdwn(field.label)}: ${renderInline(field.value)}`)
    .join(', ');
}

/** One item of a list as a bullet: a record leads with its first field, then the others by label. */
function renderItem(item: EvidenceValue): string {
  if (item.kind !== 'group') return `• ${renderInline(item)}`;
  const [lead, ...rest] = item.fields;
  if (!lead) return '•';
  const others = renderPairs(rest);
  return `• ${renderInline(lead.value)}${others ? ` — ${others}` : ''}`;
}

const isRecordList = (value: EvidenceValue) => value.kind === 'list' && value.items.some((item) => item.kind === 'group');

/**
 * Evidence as mrkdwn sections, in the finding's field order: one section of `label: value`
 * lines, then one per group and one per list of records (as bullets). Evidence that no known
 * finding describes is shown key by key, after a line saying why.
 */
function evidenceSections(alert: Pick<StoredAlert, 'finding' | 'evidence'>, findings: FindingCatalog): string[] {
  const read = findings.read(alert);
  const lines: string[] = read.ok ? [] : [`:warning: ${escapeMrkdwn(read.problem)}`];
  const sections: string[] = [];
  for (const { label, value } of read.evidence) {
    const title = escapeMrkdwn(label);
    if (value.kind === 'group') {
      sections.push(`*${title}*\n${value.fields.filter((field) => !isEmpty(field.value)).map((field) => `${escapeMrkdwn(field.label)}: ${renderInline(field.value)}`).join('\n')}`);
    } else if (value.kind === 'list' && isRecordList(value)) {
      sections.push(`*${title} (${value.items.length})*\n${value.items.map(renderItem).join('\n')}`);
    } else {
      lines.push(`*${title}:* ${renderInline(value)}`);
    }
  }
  return [...(lines.length > 0 ? [`*Evidence*\n${lines.join('\n')}`] : []), ...sections];
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

const STATUS_EMOJI: Partial<Record<AlertStatus, string>> = { resolved: ':white_check_mark:', acknowledged: ':eyes:', suppressed: ':no_bell:' };

function headline(alert: Pick<StoredAlert, 'severity' | 'finding' | 'status'>): string {
  const emoji = STATUS_EMOJI[alert.status] ?? SEVERITY_EMOJI[alert.severity];
  return `${emoji} ${alert.severity.toUpperCase()} · ${alert.finding}${alert.status === 'firing' ? '' : ` · ${alert.status}`}`;
}

const TRIAGE_PAST: Record<TriageAction, string> = { ack: 'acknowledged', resolve: 'resolved', suppress: 'suppressed', verdict: 'verdict given' };

type TriagedAlert = Pick<StoredAlert, 'triage_action' | 'triaged_by' | 'triaged_at' | 'triage_note' | 'verdict'>;

/**
 * On-call's latest action, as plain text (`acknowledged by alice at … UTC: looking`), and the
 * verdict; '' when nobody has triaged the alert. The caller escapes it for mrkdwn.
 */
export function triageText(alert: TriagedAlert): string {
  const parts: string[] = [];
  if (alert.triage_action) {
    parts.push(`${TRIAGE_PAST[alert.triage_action]} by ${alert.triaged_by} at ${formatTime(alert.triaged_at)}${alert.triage_note ? `: ${alert.triage_note}` : ''}`);
  }
  if (alert.verdict) parts.push(`verdict ${alert.verdict}`);
  return parts.join('; ');
}

function clientLine(alert: Pick<StoredAlert, 'client_name' | 'client_id'>): string {
  return alert.client_name && alert.client_name !== alert.client_id
    ? `*${escapeMrkdwn(alert.client_name)}* (${code(alert.client_id)})`
    : code(alert.client_id);
}

/** Owner and team from the client inventory, e.g. `alice@example.com · Payments`; '' without either. */
function ownerText(alert: Pick<StoredAlert, 'owner' | 'team'>): string {
  return [alert.owner, alert.team].filter(Boolean).join(' · ');
}

/** Why the severity is one step above the detector's: the client is critical in the inventory. */
function raisedText(alert: Pick<StoredAlert, 'severity' | 'detector_severity' | 'criticality'>): string {
  return alert.detector_severity && alert.detector_severity !== alert.severity && alert.criticality === 'critical'
    ? `raised from ${alert.detector_severity}: critical client`
    : '';
}

/** The root message of an alert. */
export function buildAlertMessage(alert: StoredAlert, options: MessageOptions = {}): SlackMessage {
  const runbook = runbookReference(alert.finding, options.runbookBaseUrl);
  const runbookText = runbook.url ? `<${runbook.url}|Runbook: ${escapeMrkdwn(runbook.text)}>` : `Runbook: ${code(runbook.text)}`;
  const head: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: headline(alert) } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(alert.summary || `${alert.finding} fired for ${alert.client_id}`) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Client*\n${clientLine(alert)}` },
        { type: 'mrkdwn', text: `*Tenant*\n${code(alert.tenant)}` },
        { type: 'mrkdwn', text: `*Status*\n${alert.status} · ${alert.severity}${raisedText(alert) ? ` (${raisedText(alert)})` : ''}` },
        { type: 'mrkdwn', text: `*Requests*\n${formatNumber(alert.event_count)}` },
        { type: 'mrkdwn', text: `*First seen*\n${formatTime(alert.first_seen)}` },
        { type: 'mrkdwn', text: `*Last seen*\n${formatTime(alert.last_seen)}` },
        ...(ownerText(alert) ? [{ type: 'mrkdwn' as const, text: `*Owner*\n${escapeMrkdwn(ownerText(alert))}` }] : []),
      ],
    },
    // Who acted on it, so the channel sees that someone has it (or ended it) without asking.
    ...(triageText(alert) ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: `*Triage*\n${escapeMrkdwn(triageText(alert))}` } }] : []),
  ];
  const findings = options.findings ?? FINDINGS;
  const body: Block[] = evidenceSections(alert, findings).map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } }));
  const footer: TextObject[] = [
    { type: 'mrkdwn', text: runbookText },
    { type: 'mrkdwn', text: `Fingerprint ${code(alert.alert_id)}` },
  ];
  if (options.note) footer.push({ type: 'mrkdwn', text: `:warning: ${escapeMrkdwn(options.note)}` });
  const tail: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Investigate* (paste into \`tokenwatch sql\`):\n\`\`\`${escapeMrkdwn(investigationSql(alert, findings))}\`\`\`` },
    },
    { type: 'context', elements: footer },
  ];
  const { blocks, cut } = fitBlocks(head, body, tail);
  const text = fallbackText(
    `${alert.severity.toUpperCase()} ${alert.finding}${alert.status === 'firing' ? '' : ` (${alert.status})`}: ${escapeMrkdwn(alert.summary)} ` +
      `${triageText(alert) ? `Triage: ${escapeMrkdwn(triageText(alert))}. ` : ''}` +
      `Client ${escapeMrkdwn(alert.client_name || alert.client_id)} (${escapeMrkdwn(alert.client_id)}), tenant ${escapeMrkdwn(alert.tenant)}, ` +
      `${ownerText(alert) ? `owner ${escapeMrkdwn(ownerText(alert))}, ` : ''}` +
      `${formatNumber(alert.event_count)} requests, last seen ${formatTime(alert.last_seen)}. Fingerprint ${alert.alert_id}.`,
  );
  return { text, blocks, cut };
}

export type ChangeKind = 'repeat' | 'escalated' | 'resolved' | 'refired' | 'acknowledged' | 'suppressed';

/** What the alert was when Slack last heard of it. */
export interface NotifiedState {
  readonly severity: string;
  readonly status: string;
  readonly event_count: number;
}

/** How a new version differs from what was last sent, or undefined when nothing visible changed. */
export function classifyChange(alert: StoredAlert, previous: NotifiedState): ChangeKind | undefined {
  if (alert.status !== previous.status) {
    if (alert.status === 'resolved' || alert.status === 'acknowledged' || alert.status === 'suppressed') return alert.status;
    if (alert.status === 'firing' && (previous.status === 'resolved' || previous.status === 'suppressed')) return 'refired';
  }
  if (previous.severity !== alert.severity) return 'escalated';
  if (alert.event_count !== previous.event_count) return 'repeat';
  return undefined;
}

/** A thread reply about a change to an alert that already has a root message. */
export function buildReplyMessage(alert: StoredAlert, previous: NotifiedState, kind: ChangeKind): SlackMessage {
  const growth = alert.event_count - previous.event_count;
  const counts = `${formatNumber(alert.event_count)} requests so far${growth > 0 ? ` (+${formatNumber(growth)})` : ''}, last seen ${formatTime(alert.last_seen)}`;
  const byHuman = alert.triage_action !== '' && alert.triage_action !== 'verdict' && alert.triaged_at === alert.updated_at;
  const triage = byHuman ? escapeMrkdwn(triageText(alert)) : '';
  const line = {
    repeat: `:repeat: Seen again: ${counts}.`,
    escalated: `:arrow_up: Escalated from ${escapeMrkdwn(previous.severity)} to *${alert.severity}*: ${counts}.`,
    resolved: byHuman
      ? `:white_check_mark: Resolved: ${triage}.`
      : `:white_check_mark: Resolved: nothing new since ${formatTime(alert.last_seen)} (${formatNumber(alert.event_count)} requests in all).`,
    refired: `:rotating_light: Firing again (${alert.severity}): ${counts}.`,
    acknowledged: `:eyes: ${triage ? `${triage.charAt(0).toUpperCase()}${triage.slice(1)}` : 'Acknowledged'}. No more pages for it; it still updates here.`,
    suppressed: `:no_bell: ${triage ? `${triage.charAt(0).toUpperCase()}${triage.slice(1)}` : 'Suppressed'}. ${escapeMrkdwn(alert.finding)} is suppressed for this client until the suppression expires.`,
  }[kind];
  const summary = kind === 'repeat' || kind === 'escalated' || kind === 'refired' ? `\n${escapeMrkdwn(alert.summary)}` : '';
  const { blocks, cut } = fitBlocks(
    [{ type: 'section', text: { type: 'mrkdwn', text: `${line}${summary}` } }],
    [],
    [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Fingerprint ${code(alert.alert_id)}` }] }],
  );
  return { text: fallbackText(`${alert.finding} ${alert.client_id}: ${line.replace(/^:[a-z_]+: /, '')}`), blocks, cut };
}

/** The one message sent instead of many when a channel gets a storm of new alerts. */
export function buildDigestMessage(alerts: readonly StoredAlert[]): SlackMessage {
  const bySeverity = new Map<string, number>();
  for (const alert of alerts) bySeverity.set(alert.severity, (bySeverity.get(alert.severity) ?? 0) + 1);
  const counts = [...bySeverity.entries()].map(([severity, n]) => `${n} ${severity}`).join(', ');
  const lines = alerts.map(
    (alert) => `• ${SEVERITY_EMOJI[alert.severity]} *${alert.severity}* ${escapeMrkdwn(alert.finding)} — ${clientLine(alert)} in ${code(alert.tenant)}`,
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
export function renderAlertPlain(
  alert: StoredAlert,
  options: { runbookBaseUrl?: string | undefined; change?: ChangeKind | 'new'; findings?: FindingCatalog | undefined } = {},
): string {
  const findings = options.findings ?? FINDINGS;
  const runbook = runbookReference(alert.finding, options.runbookBaseUrl);
  const change = options.change && options.change !== 'new' ? ` (${options.change})` : '';
  const evidence = evidenceSections(alert, findings)
    .join('\n')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\*/g, '')
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return [
    `[${alert.severity.toUpperCase()}] ${alert.finding} ${alert.status}${change}: client ${alert.client_name || alert.client_id} (${alert.client_id}), tenant ${alert.tenant}`,
    `  ${alert.summary}`,
    `  ${formatNumber(alert.event_count)} requests, ${formatTime(alert.first_seen)} → ${formatTime(alert.last_seen)}`,
    ...(ownerText(alert) || raisedText(alert) ? [`  owner: ${ownerText(alert) || '(none in the inventory)'}${raisedText(alert) ? `; severity ${raisedText(alert)}` : ''}`] : []),
    ...(triageText(alert) ? [`  triage: ${triageText(alert)}`] : []),
    ...(evidence.trim() ? [evidence] : []),
    `  investigate: ${investigationSql(alert, findings).replace(/\n\s*/g, ' ')}`,
    `  runbook: ${runbook.url ?? runbook.text}   fingerprint: ${alert.alert_id}`,
  ].join('\n');
}
