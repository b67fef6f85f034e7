import { describe, expect, it } from 'vitest';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding, findingCatalog } from '@tokenwatch/shared/alerts/finding';
import { FINDINGS } from '@tokenwatch/detector/findings';
import {
  buildAlertMessage,
  buildDigestMessage,
  buildReplyMessage,
  clickhouseString,
  investigationSql,
  classifyChange,
  renderAlertPlain,
  SLACK_LIMITS,
  type Block,
} from '@tokenwatch/notifier/message';
import { routeAlert } from '@tokenwatch/notifier/routing';
import { parseConfig } from '@tokenwatch/server/config-file';
import { sampleEvidence } from '../helpers/alerts.js';
import { blockProblem } from '../helpers/slack-stub.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function alert(overrides: Partial<StoredAlert> = {}): StoredAlert {
  return {
    alert_id: '0123456789abcdef0123456789abcdef',
    finding: 'jti_replay',
    severity: 'high',
    tenant: 'acme',
    client_id: 'svc-billing',
    client_name: 'Billing sync',
    alert_key: "jti-1'x",
    window_start: 0,
    first_seen: T0,
    last_seen: T0 + 5 * 60_000,
    event_count: 3,
    summary: 'The assertion jti was used 3 times within its lifetime, from 2 source IPs.',
    evidence: sampleEvidence.jti_replay("jti-1'x"),
    event_ids: ['e1', 'e2', 'e3'],
    owner: '',
    team: '',
    slack_channel: '',
    criticality: '',
    detector_severity: 'high',
    status: 'firing',
    triage_action: '',
    triaged_by: '',
    triaged_at: 0,
    triage_note: '',
    verdict: '',
    created_at: T0 + 6 * 60_000,
    updated_at: T0 + 6 * 60_000,
    ...overrides,
  };
}

const texts = (blocks: readonly Block[]): string[] =>
  blocks.flatMap((block) => {
    if (block.type === 'header') return [block.text.text];
    if (block.type === 'section') return [block.text?.text ?? '', ...(block.fields ?? []).map((field) => field.text)];
    if (block.type === 'context') return block.elements.map((element) => element.text);
    return [];
  });

function expectWithinLimits(blocks: readonly Block[]): void {
  expect(blockProblem(blocks)).toBeUndefined();
  expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of blocks) {
    if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
  }
}

describe('alert message (Block Kit)', () => {
  it('carries severity, finding, client, tenant, summary, evidence, window, SQL, runbook and fingerprint', () => {
    const message = buildAlertMessage(alert());
    expectWithinLimits(message.blocks);
    expect(message.cut).toBe(false);
    const [header] = message.blocks;
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: ':red_circle: HIGH · jti_replay' } });
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Billing sync* (`svc-billing`)');
    expect(all).toContain('`acme`');
    expect(all).toContain('used 3 times within its lifetime');
    // Evidence by the finding's labels and kinds: jti as code, counts, flags, times, ASNs.
    expect(all).toContain("*jti:* `jti-1'x`");
    expect(all).toContain('*Replays within validity:* 1');
    expect(all).toContain('*Replay reported by the IdP:* no');
    expect(all).toContain('*Assertion expires:* 2026-03-01 10:05:00 UTC');
    expect(all).toContain('*Networks (ASNs):* AS64500, AS64501');
    // A list of records: one bullet each, led by its first field, empty values left out.
    expect(all).toContain(
      "*Uses (2)*\n• 2026-03-01 10:00:00 UTC — Client: `svc-a`, Outcome: success, Source IP: `203.0.113.10`, ASN: AS64500, " +
        "Network operator: Example Net 0, Country: NL, Replay reported by the IdP: no, Event: `e-jti-1'x-0`",
    );
    expect(all).toContain('Error: invalid_grant');
    expect(all).toContain('2026-03-02 10:00:00 UTC');
    expect(all).toContain('2026-03-02 10:05:00 UTC');
    expect(all).toContain("assertion_jti = 'jti-1\\'x'");
    expect(all).toContain('Runbook: `docs/detectors.md#jti_replay`');
    expect(all).toContain('Fingerprint `0123456789abcdef0123456789abcdef`');
  });

  it('shows observed vs baseline for volume alerts and links the runbook when a base URL is set', () => {
    const message = buildAlertMessage(
      alert({ finding: 'mint_volume', severity: 'medium', evidence: sampleEvidence.mint_volume(4_200, 120) }),
      { runbookBaseUrl: 'https://git.example.com/tokenwatch/blob/main/docs/detectors.md' },
    );
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Observed:* 4,200\n*Baseline median:* 120\n*Baseline MAD:* 4.5');
    expect(all).toContain('*Score (MADs above the median):* 906.67');
    expect(all).toContain('*Source IPs (1)*\n• `203.0.113.9` — ASN: AS64500, Network operator: Example, Country: NL, Requests: 4,200');
    expect(all).toContain('<https://git.example.com/tokenwatch/blob/main/docs/detectors.md#mint_volume|Runbook: docs/detectors.md#mint_volume>');
    expect(all).not.toContain('assertion_jti =');
  });

  it('escapes mrkdwn control characters in alert data (no @channel pings or fake links)', () => {
    const message = buildAlertMessage(alert({ summary: 'Hi <!channel> & <https://evil.example|click>', client_name: '<@U123>' }));
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('Hi &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<@U123>');
    expect(message.text).not.toContain('<!channel>');
  });

  it('stays inside 50 blocks and 3000 characters per section, and says what was cut', () => {
    // A finding with more evidence than a message can hold: 120 lists (blocks) and 400 source IPs (one long section).
    const record = evidenceSchema({ a: evidence.text('A'), b: evidence.count('B') });
    const sources = evidenceSchema({ ip: evidence.ip('IP'), asn: evidence.asn('ASN'), as_org: evidence.text('Network operator'), requests: evidence.count('Requests') });
    const huge = defineFinding(
      'huge',
      evidenceSchema({
        note: evidence.text('Note'),
        source_ips: evidence.list('Source IPs', sources),
        ...Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`list_${i}`, evidence.list(`List ${i}`, record)])),
      }),
    );
    const findings = findingCatalog([...FINDINGS.findings, huge]);
    const data: Record<string, unknown> = { note: 'y'.repeat(1_000) };
    data.source_ips = Array.from({ length: 400 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}`, asn: 64500 + i, as_org: 'Some Org', requests: i }));
    for (let i = 0; i < 120; i++) data[`list_${i}`] = [{ a: 'x'.repeat(50), b: i }];
    const message = buildAlertMessage(alert({ finding: 'huge', evidence: data, summary: 's'.repeat(5_000) }), { findings });
    expect(findings.read({ finding: 'huge', evidence: data }).ok).toBe(true);
    expectWithinLimits(message.blocks);
    expect(message.blocks).toHaveLength(SLACK_LIMITS.blocks);
    expect(message.cut).toBe(true);
    const all = texts(message.blocks).join('\n');
    expect(all).toMatch(/_\[cut: [\d,]+ more characters\]_/);
    expect(all).toContain("Cut to fit Slack's limits");
    // What on-call needs most is never the part that is dropped.
    expect(all).toContain('FROM token_requests');
    expect(all).toContain('Fingerprint `0123456789abcdef0123456789abcdef`');
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  });

  it('has a plain-text fallback for notifications', () => {
    const { text } = buildAlertMessage(alert({ status: 'resolved' }));
    expect(text).toContain('HIGH jti_replay (resolved)');
    expect(text).toContain('used 3 times');
    expect(text).toContain('Billing sync (svc-billing), tenant acme');
    expect(text).toContain('Fingerprint 0123456789abcdef0123456789abcdef');
  });

  it('builds valid thread replies and digests, even for a huge storm', () => {
    const previous = { severity: 'medium', status: 'firing', event_count: 1 };
    const escalated = buildReplyMessage(alert(), previous, 'escalated');
    expectWithinLimits(escalated.blocks);
    expect(texts(escalated.blocks).join('\n')).toContain('Escalated from medium to *high*: 3 requests so far (+2)');
    const resolved = buildReplyMessage(alert({ status: 'resolved' }), { ...previous, severity: 'high' }, 'resolved');
    expect(resolved.text).toContain('Resolved');
    const storm = buildDigestMessage(Array.from({ length: 500 }, (_, i) => alert({ alert_id: `id-${i}`, client_id: `client-${i}` })));
    expectWithinLimits(storm.blocks);
    expect(storm.cut).toBe(true);
    expect(storm.text).toContain('500 new alerts (500 high)');
  });
});

describe('triage in messages', () => {
  const acked = alert({ status: 'acknowledged', triage_action: 'ack', triaged_by: 'alice <!channel>', triaged_at: T0 + 7 * 60_000, triage_note: 'on it *now*', updated_at: T0 + 7 * 60_000 });

  it('shows who acknowledged it, when and why in the root (escaped), the header and the fallback; none before any action', () => {
    const message = buildAlertMessage(acked);
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Triage*\nacknowledged by alice &lt;!channel&gt; at 2026-03-02 10:07:00 UTC: on it *now*');
    expect(all).toContain(':eyes: HIGH · jti_replay · acknowledged');
    expect(all).toContain('*Status*\nacknowledged · high');
    expect(message.text).toMatch(/^HIGH jti_replay \(acknowledged\): .* Triage: acknowledged by alice &lt;!channel&gt; at 2026-03-02 10:07:00 UTC: on it \*now\*\. /);
    expectWithinLimits(message.blocks);
    expect(texts(buildAlertMessage(alert()).blocks).join('\n')).not.toContain('Triage');
    expect(texts(buildAlertMessage(alert({ verdict: 'benign' })).blocks).join('\n')).toContain('*Triage*\nverdict benign');
    expect(renderAlertPlain(acked)).toContain('  triage: acknowledged by alice <!channel> at 2026-03-02 10:07:00 UTC: on it *now*');
  });

  it("classifies on-call's changes, and a human resolution's reply says who", () => {
    const firing = { severity: 'high', status: 'firing', event_count: 3 };
    expect(classifyChange(acked, firing)).toBe('acknowledged');
    expect(classifyChange(alert({ status: 'suppressed' }), firing)).toBe('suppressed');
    expect(classifyChange(alert({ status: 'resolved' }), { ...firing, status: 'acknowledged' })).toBe('resolved');
    expect(classifyChange(alert({ status: 'firing' }), { ...firing, status: 'suppressed' })).toBe('refired');
    expect(classifyChange(alert({ status: 'acknowledged', event_count: 5 }), { ...firing, status: 'acknowledged' })).toBe('repeat');
    expect(classifyChange(alert({ status: 'acknowledged', verdict: 'benign' }), { ...firing, status: 'acknowledged' })).toBeUndefined();

    const resolvedByBob = alert({ status: 'resolved', triage_action: 'resolve', triaged_by: 'bob', triaged_at: T0 + 8 * 60_000, updated_at: T0 + 8 * 60_000 });
    expect(buildReplyMessage(resolvedByBob, firing, 'resolved').text).toContain('Resolved: resolved by bob at 2026-03-02 10:08:00 UTC.');
    // A quiet resolution of an alert acknowledged earlier is the detector's, not bob's.
    const quiet = { ...resolvedByBob, triage_action: 'ack' as const, updated_at: T0 + 20 * 60_000 };
    expect(buildReplyMessage(quiet, firing, 'resolved').text).toContain('Resolved: nothing new since');
    expect(buildReplyMessage(acked, firing, 'acknowledged').text).toContain('Acknowledged by alice &lt;!channel&gt; at 2026-03-02 10:07:00 UTC: on it *now*. No more pages for it');
  });
});

describe('investigation SQL', () => {
  it('quotes ClickHouse string literals correctly', () => {
    expect(clickhouseString("it's")).toBe("'it\\'s'");
    expect(clickhouseString('back\\slash')).toBe("'back\\\\slash'");
    expect(clickhouseString('two\nlines\t\u0001')).toBe("'two\\nlines\\t\\x01'");
  });

  it('selects the client over the window ±1 h, with the jti for jti alerts', () => {
    expect(investigationSql(alert({ tenant: "o'hara", client_id: 'c\\1' }))).toBe(
      [
        'SELECT time, client_id, outcome, error_code, auth_method, source_ip, country, asn, as_org, assertion_jti, user_agent',
        'FROM token_requests FINAL',
        "WHERE tenant = 'o\\'hara'",
        "  AND client_id = 'c\\\\1'",
        "  AND time BETWEEN toDateTime64('2026-03-02 09:00:00.000', 3, 'UTC') AND toDateTime64('2026-03-02 11:05:00.000', 3, 'UTC')",
        "  AND assertion_jti = 'jti-1\\'x'",
        'ORDER BY time',
        'LIMIT 1000',
      ].join('\n'),
    );
    // Across clients for a cross-client jti.
    // Across clients for a finding of tenant scope (a jti shared between clients).
    const cross = investigationSql(alert({ finding: 'jti_cross_client', evidence: sampleEvidence.jti_cross_client('j-9') }));
    expect(cross).not.toContain('client_id =');
    expect(cross).toContain("assertion_jti = 'j-9'");
    expect(investigationSql(alert({ finding: 'mint_volume', evidence: sampleEvidence.mint_volume() }))).not.toContain('assertion_jti =');
    // A replay the IdP reported without a jti: no jti filter (the key is an event id, not a jti).
    expect(investigationSql(alert({ alert_key: 'event:e-1', evidence: sampleEvidence.jti_replay('') }))).not.toContain('assertion_jti =');
  });

  it('renders a readable terminal form', () => {
    const text = renderAlertPlain(alert(), { change: 'new' });
    expect(text.split('\n')[0]).toBe('[HIGH] jti_replay firing: client Billing sync (svc-billing), tenant acme');
    expect(text).toContain('    Uses (2)\n    • 2026-03-01 10:00:00 UTC — Client: `svc-a`');
    expect(text).toContain("    jti: `jti-1'x`");
    expect(text).toContain('fingerprint: 0123456789abcdef0123456789abcdef');
    expect(text).not.toContain('&lt;');
  });
});

describe('routing', () => {
  const { notify } = parseConfig(
    {
      notify: {
        routes: [
          { channel: 'C0CRIT', min_severity: 'critical' },
          { channel: 'C0JTI', findings: ['jti_replay', 'jti_cross_client'], tenants: ['acme'] },
          { channel: 'C0LOW', severities: ['info', 'low'] },
        ],
      },
    },
    'test',
  );

  it('takes the first matching rule, else the default channel', () => {
    expect(routeAlert(alert({ severity: 'critical' }), notify.routes, 'C0DEFAULT')).toBe('C0CRIT');
    expect(routeAlert(alert(), notify.routes, 'C0DEFAULT')).toBe('C0JTI');
    expect(routeAlert(alert({ tenant: 'other' }), notify.routes, 'C0DEFAULT')).toBe('C0DEFAULT');
    expect(routeAlert(alert({ finding: 'mint_volume', severity: 'low' }), notify.routes, 'C0DEFAULT')).toBe('C0LOW');
  });

  it("sends an alert to its client's inventory channel before any rule", () => {
    expect(routeAlert(alert({ severity: 'critical', slack_channel: 'C0OWNERS' }), notify.routes, 'C0DEFAULT')).toBe('C0OWNERS');
    expect(routeAlert(alert({ tenant: 'other', slack_channel: '#payments' }), notify.routes, 'C0DEFAULT')).toBe('#payments');
  });

  it('rejects unknown keys and bad values with one readable line', () => {
    expect(() => parseConfig({ notify: { routes: [{ channel: 'C1', severity: 'high' }] } }, 'test.yaml')).toThrow(/test\.yaml at notify\.routes\.0\.severity/);
    expect(() => parseConfig({ notify: { digest_threshold: 0 } }, 'test.yaml')).toThrow(/notify\.digest_threshold/);
  });

  it('refuses a route naming a finding no detector raises, and the old `detectors` key, in one line', () => {
    const unknown = () => parseConfig({ notify: { routes: [{ channel: 'C1', findings: ['jti_replay', 'jti_reply'] }] } }, 'test.yaml');
    expect(unknown).toThrow(
      'invalid configuration in test.yaml at notify.routes.0.findings.1: unknown finding "jti_reply": expected one of ' +
        'watched_credential, jti_replay, jti_cross_client, assertion_hygiene, mint_volume, invalid_client_burst, secret_new_location, dormant_client, unknown_client, new_scope, new_user_agent, concurrent_networks, new_credential, stale_credential, ioc_match',
    );
    expect(() => parseConfig({ notify: { routes: [{ channel: 'C1', detectors: ['jti_replay'] }] } }, 'test.yaml')).toThrow(
      /^invalid configuration in test\.yaml at notify\.routes\.0\.detectors: Unrecognized key/,
    );
  });
});

describe('evidence rendered from the finding schema', () => {
  // A finding the notifier has never heard of, declared here the way a detector declares one.
  const TOKEN_EXFILTRATION = defineFinding(
    'token_exfiltration',
    evidenceSchema({
      token_hash: evidence.id('Token hash'),
      sightings: evidence.count('Sightings'),
      seen_at: evidence.time('Seen at'),
      still_valid: evidence.flag('Still valid'),
      resolvers: evidence.list('Resolvers', evidenceSchema({ ip: evidence.ip('IP'), country: evidence.text('Country'), asn: evidence.asn('ASN') })),
      origin: evidence.group('Origin', { network: evidence.network('Network'), country: evidence.text('Country') }),
    }),
  );
  const findings = findingCatalog([...FINDINGS.findings, TOKEN_EXFILTRATION]);
  const exfiltration = alert({
    finding: 'token_exfiltration',
    severity: 'critical',
    alert_key: 'tok-1',
    evidence: TOKEN_EXFILTRATION.draft({
      severity: 'critical', tenant: 'acme', client_id: 'svc-billing', client_name: '', alert_key: 'tok-1', window_start: 0,
      first_seen: T0, last_seen: T0, event_count: 1, summary: '', event_ids: [],
      evidence: {
        token_hash: 'sha256:ab12',
        sightings: 12_345,
        seen_at: '2026-03-02T09:59:00.000Z',
        still_valid: true,
        resolvers: [{ ip: '192.0.2.1', country: 'BR', asn: 0 }, { ip: '192.0.2.2', country: '', asn: 64999 }],
        origin: { network: '192.0.2.0/24', country: 'BR' },
      },
    }).evidence,
  });

  it('renders a new finding in Block Kit by its labels and kinds, with no change to the notifier', () => {
    const message = buildAlertMessage(exfiltration, { findings });
    expectWithinLimits(message.blocks);
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':rotating_light: CRITICAL · token_exfiltration' } });
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Evidence*\n*Token hash:* `sha256:ab12`\n*Sightings:* 12,345\n*Seen at:* 2026-03-02 09:59:00 UTC\n*Still valid:* yes');
    expect(all).toContain('*Resolvers (2)*\n• `192.0.2.1` — Country: BR\n• `192.0.2.2` — ASN: AS64999');
    expect(all).toContain('*Origin*\nNetwork: `192.0.2.0/24`\nCountry: BR');
    expect(all).toContain('Runbook: `docs/detectors.md#token_exfiltration`');
    expect(all).not.toContain(':warning:');
  });

  it('renders a new finding as plain text the same way', () => {
    const text = renderAlertPlain(exfiltration, { findings });
    expect(text.split('\n')[0]).toBe('[CRITICAL] token_exfiltration firing: client Billing sync (svc-billing), tenant acme');
    expect(text).toContain('    Evidence\n    Token hash: `sha256:ab12`\n    Sightings: 12,345\n    Seen at: 2026-03-02 09:59:00 UTC\n    Still valid: yes');
    expect(text).toContain('    Resolvers (2)\n    • `192.0.2.1` — Country: BR\n    • `192.0.2.2` — ASN: AS64999');
    expect(text).toContain('    Origin\n    Network: `192.0.2.0/24`\n    Country: BR');
  });

  it('still shows an alert whose finding is unknown, or whose evidence breaks its schema, and says why', () => {
    // Without the catalog that declares it, token_exfiltration is unknown: every key is shown as it is.
    const unknown = texts(buildAlertMessage(exfiltration).blocks).join('\n');
    expect(unknown).toContain(':warning: unknown finding "token_exfiltration" (known: watched_credential, jti_replay, jti_cross_client,');
    expect(unknown).toContain('*token hash:* sha256:ab12');
    expect(unknown).toContain('*resolvers:* [{"ip":"192.0.2.1","country":"BR","asn":0},{"ip":"192.0.2.2","country":"","asn":64999}]');
    // A jti_replay alert whose evidence was stored by a different version.
    const broken = alert({ evidence: { jti: 42, uses: 3 } });
    const text = texts(buildAlertMessage(broken).blocks).join('\n');
    expect(text).toContain(':warning: jti_replay evidence does not match its schema at jti: Invalid input: expected string, received number');
    expect(text).toContain('*jti:* 42');
    expect(renderAlertPlain(broken)).toContain('    :warning: jti_replay evidence does not match its schema at jti:');
  });
});
