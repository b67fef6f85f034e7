import { describe, expect, it } from 'vitest';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import {
  buildAlertMessage,
  buildDigestMessage,
  buildReplyMessage,
  clickhouseString,
  investigationSql,
  renderAlertPlain,
  SLACK_LIMITS,
  type Block,
} from '@tokenwatch/notifier/message';
import { routeAlert } from '@tokenwatch/notifier/routing';
import { parseConfig } from '@tokenwatch/server/config-file';
import { blockProblem } from '../helpers/slack-stub.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function alert(overrides: Partial<StoredAlert> = {}): StoredAlert {
  return {
    alert_id: '0123456789abcdef0123456789abcdef',
    detector: 'jti_replay',
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
    evidence: {
      jti: "jti-1'x",
      uses: 3,
      source_ips: [
        { ip: '203.0.113.7', asn: 64500, as_org: 'Example Hosting', country: 'NL', first_seen: T0 - 86_400_000, requests: 2 },
        { ip: '198.51.100.1', asn: 64501, as_org: 'Corp Net', country: 'US', first_seen: '2026-01-15T00:00:00Z', requests: 1 },
      ],
    },
    event_ids: ['e1', 'e2', 'e3'],
    status: 'firing',
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
  it('carries severity, detector, client, tenant, summary, evidence, window, SQL, runbook and fingerprint', () => {
    const message = buildAlertMessage(alert());
    expectWithinLimits(message.blocks);
    expect(message.cut).toBe(false);
    const [header] = message.blocks;
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: ':red_circle: HIGH · jti_replay' } });
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Billing sync* (`svc-billing`)');
    expect(all).toContain('`acme`');
    expect(all).toContain('used 3 times within its lifetime');
    expect(all).toContain("*jti:* `jti-1'x`");
    expect(all).toContain('`203.0.113.7` — AS64500 Example Hosting, NL, first seen 2026-03-01, 2 requests');
    expect(all).toContain('`198.51.100.1` — AS64501 Corp Net, US, first seen 2026-01-15, 1 requests');
    expect(all).toContain('*uses:* 3');
    expect(all).toContain('2026-03-02 10:00:00 UTC');
    expect(all).toContain('2026-03-02 10:05:00 UTC');
    expect(all).toContain("assertion_jti = 'jti-1\\'x'");
    expect(all).toContain('Runbook: `docs/detectors.md#jti_replay`');
    expect(all).toContain('Fingerprint `0123456789abcdef0123456789abcdef`');
  });

  it('shows observed vs baseline for volume alerts and links the runbook when a base URL is set', () => {
    const message = buildAlertMessage(
      alert({ detector: 'mint_volume', severity: 'medium', evidence: { observed: 4200, baseline_median: 120, baseline_mad: 15.5, score: 263.2 } }),
      { runbookBaseUrl: 'https://git.example.com/tokenwatch/blob/main/docs/detectors.md' },
    );
    const all = texts(message.blocks).join('\n');
    expect(all).toContain('*Observed:* 4,200 vs baseline median 120, MAD 15.5');
    expect(all).toContain('*Score:* 263.2');
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
    const evidence: Record<string, unknown> = {};
    for (let i = 0; i < 120; i++) evidence[`list_${i}`] = [{ a: 'x'.repeat(50), b: i }];
    evidence.source_ips = Array.from({ length: 400 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}`, asn: 64500 + i, as_org: 'Some Org', country: 'DE', first_seen: T0, requests: i }));
    evidence.long_note = 'y'.repeat(10_000);
    const message = buildAlertMessage(alert({ evidence, summary: 's'.repeat(5_000) }));
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
        'FROM token_requests',
        "WHERE tenant = 'o\\'hara'",
        "  AND client_id = 'c\\\\1'",
        "  AND time BETWEEN toDateTime64('2026-03-02 09:00:00.000', 3, 'UTC') AND toDateTime64('2026-03-02 11:05:00.000', 3, 'UTC')",
        "  AND assertion_jti = 'jti-1\\'x'",
        'ORDER BY time',
        'LIMIT 1000',
      ].join('\n'),
    );
    // Across clients for a cross-client jti.
    expect(investigationSql(alert({ detector: 'jti_cross_client' }))).not.toContain('client_id =');
    expect(investigationSql(alert({ detector: 'mint_volume' }))).not.toContain('assertion_jti =');
  });

  it('renders a readable terminal form', () => {
    const text = renderAlertPlain(alert(), { change: 'new' });
    expect(text.split('\n')[0]).toBe('[HIGH] jti_replay firing: client Billing sync (svc-billing), tenant acme');
    expect(text).toContain('203.0.113.7');
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
          { channel: 'C0JTI', detectors: ['jti_replay', 'jti_cross_client'], tenants: ['acme'] },
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
    expect(routeAlert(alert({ detector: 'mint_volume', severity: 'low' }), notify.routes, 'C0DEFAULT')).toBe('C0LOW');
  });

  it('rejects unknown keys and bad values with one readable line', () => {
    expect(() => parseConfig({ notify: { routes: [{ channel: 'C1', severity: 'high' }] } }, 'test.yaml')).toThrow(/test\.yaml at notify\.routes\.0\.severity/);
    expect(() => parseConfig({ notify: { digest_threshold: 0 } }, 'test.yaml')).toThrow(/notify\.digest_threshold/);
  });
});
