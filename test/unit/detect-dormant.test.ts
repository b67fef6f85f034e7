import { describe, expect, it } from 'vitest';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { judgeWake, latestBefore, sleepBefore, type HistoryRow, type Wake } from '@tokenwatch/detector/detectors/dormant-client/index';
import { parseConfig } from '@tokenwatch/server/config-file';
import { buildAlertMessage, type Block } from '@tokenwatch/notifier/message';
import { blockProblem } from '../helpers/slack-stub.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12);
const SETTINGS = parseConfig({}, 'defaults').detectors.dormant_client;

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
function active(at: number, extra: Partial<HistoryRow> = {}): HistoryRow {
  return { tenant: 'acme', client_id: 'svc', day: day(at), asn: 16509, as_org: 'AMAZON-02', country: 'US', credential_id: '', first_ms: at, last_ms: at + 3_600_000, requests: 10, ...extra };
}
const wake: Wake = {
  tenant: 'acme', client_id: 'svc', client_name: 'Billing sync', first_ms: T0, last_ms: T0 + 60_000, requests: 2,
  first_asn: 64510, first_as_org: 'Far Away Hosting', first_country: 'NL', first_auth_method: 'client_secret', first_user_agent: 'curl/8.4.0',
  asns: [64510], credentials: [''], ips: ['198.51.100.7'], event_ids: ['e1', 'e2'],
};

describe('dormant_client judgement', () => {
  it('reads the latest request before a time from day-rows, a same-day row counting as awake', () => {
    expect(latestBefore([], T0)).toBeUndefined();
    expect(latestBefore([{ first_ms: T0 - 5 * DAY, last_ms: T0 - 4 * DAY }, { first_ms: T0 + 1, last_ms: T0 + 2 }], T0)).toBe(T0 - 4 * DAY);
    expect(latestBefore([{ first_ms: T0 - 1_000, last_ms: T0 + 1_000 }], T0)).toBe(T0 - 1_000);
  });

  it('measures the sleep and the longest gap before it, ignoring anything from the wake on', () => {
    const history = [active(T0 - 60 * DAY), active(T0 - 58 * DAY), active(T0 - 50 * DAY), active(T0 + DAY)];
    expect(sleepBefore(history, T0)).toEqual({
      firstSeen: T0 - 60 * DAY,
      lastSeen: T0 - 50 * DAY + 3_600_000,
      slept: 50 * DAY - 3_600_000,
      longestGap: 8 * DAY - 3_600_000,
    });
    expect(sleepBefore([active(T0 + DAY)], T0)).toBeUndefined();
  });

  it('alerts on a long sleep, high from a new ASN, and not on monthly rhythm or thin history', () => {
    const daily = Array.from({ length: 20 }, (_, i) => active(T0 - (60 + i) * DAY));
    expect(judgeWake(wake, daily, SETTINGS)).toMatchObject({ finding: 'dormant_client', severity: 'high', evidence: { woke: { new_network: true } } });
    expect(judgeWake({ ...wake, asns: [16509], first_asn: 16509 }, daily, SETTINGS)).toMatchObject({ severity: 'medium' });
    const monthly = [150, 120, 90, 60, 31].map((ago) => active(T0 - ago * DAY));
    expect(judgeWake(wake, monthly, SETTINGS)).toBeUndefined();
    expect(judgeWake(wake, [active(T0 - 60 * DAY)], SETTINGS)).toBeUndefined();
    expect(judgeWake(wake, Array.from({ length: 20 }, (_, i) => active(T0 - (20 + i) * DAY)), SETTINGS)).toBeUndefined();
  });

  it('renders a Slack message with the sleep, the wake and the usual networks', () => {
    const draft = judgeWake(wake, Array.from({ length: 20 }, (_, i) => active(T0 - (60 + i) * DAY)), SETTINGS);
    if (!draft) throw new Error('expected a draft');
    const alert: StoredAlert = { ...draft, event_ids: [...draft.event_ids], alert_id: '0123456789abcdef0123456789abcdef', status: 'firing', triage_action: '', triaged_by: '', triaged_at: 0, triage_note: '', verdict: '', created_at: T0, updated_at: T0, owner: '', team: '', slack_channel: '', criticality: '', detector_severity: draft.severity };
    const message = buildAlertMessage(alert);
    expect(blockProblem(message.blocks)).toBeUndefined();
    const all = message.blocks
      .flatMap((block: Block) => (block.type === 'section' ? [block.text?.text ?? '', ...(block.fields ?? []).map((field) => field.text)] : []))
      .join('\n');
    expect(all).toContain('*Slept (days):* 60');
    expect(all).toContain('Network never used by the client: yes');
    expect(all).toContain('its longest gap before was 1 day)');
    expect(all).toContain('AS16509');
    expect(all).toContain('198.51.100.7');
  });
});
