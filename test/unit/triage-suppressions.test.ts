import { describe, expect, it } from 'vitest';
import { withoutSuppressed, type Suppression } from '@tokenwatch/detector/triage/suppressions';

const T0 = Date.parse('2026-11-30T00:00:00Z');

const suppression = (overrides: Partial<Suppression> = {}): Suppression => ({
  finding: 'mint_volume',
  tenant: 'acme',
  client_id: 'svc-a',
  alert_key: '',
  suppressed_until: T0 + 1_000,
  actor: 'alice',
  note: '',
  at: T0,
  ...overrides,
});

const draft = (overrides: Partial<{ finding: string; tenant: string; client_id: string; alert_key: string; last_seen: number }> = {}) => ({
  finding: 'mint_volume',
  tenant: 'acme',
  client_id: 'svc-a',
  alert_key: 'burst',
  last_seen: T0 + 999,
  ...overrides,
});

describe('stored suppressions', () => {
  it('drop a finding of the client whose evidence ends before the expiry, and nothing else', () => {
    const drafts = [
      draft(),
      draft({ last_seen: T0 + 1_000 }),
      draft({ finding: 'jti_replay' }),
      draft({ tenant: 'other' }),
      draft({ client_id: 'svc-b' }),
    ];
    expect(withoutSuppressed(drafts, [suppression()])).toEqual(drafts.slice(1));
    expect(withoutSuppressed(drafts, [])).toEqual(drafts);
  });

  it('narrowed to one key, drop only that key', () => {
    const drafts = [draft({ alert_key: 'burst' }), draft({ alert_key: 'other' })];
    expect(withoutSuppressed(drafts, [suppression({ alert_key: 'burst' })])).toEqual([drafts[1]]);
  });
});
