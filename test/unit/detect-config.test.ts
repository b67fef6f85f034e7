import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '@tokenwatch/server/config-file';
import { allSettingsOf, settingsFor } from '@tokenwatch/detector/config';

describe('configuration file: detectors section', () => {
  it('has a default for everything, so no file is a valid configuration', () => {
    const config = loadConfigFile(undefined).detectors;
    expect(config.mint_volume).toMatchObject({ bucket_minutes: 5, baseline_days: 14, mad_k: 6, cold_start_hours: 24 });
    expect(config.secret_new_location.levels).toEqual({ country: true, asn: true, network: false });
    expect(config.jti_replay.hygiene.max_lifetime_minutes).toBe(5);
    expect(config.dormant_client).toEqual({ enabled: true, dormant_days: 30, gap_margin: 1.5, learning_days: 7 });
    expect(config.new_scope).toMatchObject({ enabled: true, learning_days: 7 });
    expect(config.new_scope.sensitive_scopes).toContain('okta.*.manage');
    expect(config.new_user_agent).toEqual({ enabled: true, learning_days: 7 });
    expect(config.concurrent_networks).toEqual({ enabled: true, concurrent_window_minutes: 10, margin: 2, learning_days: 7 });
    expect(config.new_credential).toEqual({ enabled: true, learning_days: 7, parallel_window_minutes: 60 });
    expect(config.stale_credential).toEqual({ enabled: true, max_credential_age_days: 90 });
    expect([config.max_window_minutes, config.max_window_events]).toEqual([60, 50_000]);
  });

  it('lets an allowlist entry name the findings it silences, secret_new_location when it names none', () => {
    const config = parseConfig(
      { detectors: { allowlist: [{ client_id: 'a', expires: '2027-01-01', reason: 'old entry' }, { findings: ['dormant_client'], client_id: 'b', expires: '2027-01-01', reason: 'yearly job' }] } },
      'test',
    ).detectors;
    expect(config.allowlist.map((entry) => entry.findings)).toEqual([['secret_new_location'], ['dormant_client']]);
  });

  it('lays a client override over the global values from the same file, key by key', () => {
    const config = parseConfig(
      {
        detectors: {
          mint_volume: { mad_k: 8, min_count: 50 },
          jti_replay: { hygiene: { max_clock_skew_seconds: 30 } },
          overrides: [
            { client_id: 'batch', mint_volume: { min_count: 5_000 }, jti_replay: { hygiene: { max_lifetime_minutes: 60 } } },
            { tenant: 'other', client_id: 'svc', secret_new_location: { enabled: false } },
          ],
        },
      },
      'test',
    ).detectors;
    // The override's own key wins; a key it leaves out keeps the file's global value (not the default).
    expect(settingsFor(config, 'mint_volume', 'acme', 'batch')).toMatchObject({ min_count: 5_000, mad_k: 8 });
    expect(settingsFor(config, 'jti_replay', 'acme', 'batch').hygiene).toEqual({ enabled: true, max_lifetime_minutes: 60, max_clock_skew_seconds: 30 });
    expect(settingsFor(config, 'mint_volume', 'acme', 'web')).toMatchObject({ min_count: 50, mad_k: 8 });
    // An entry naming a tenant applies only there.
    expect(settingsFor(config, 'secret_new_location', 'acme', 'svc').enabled).toBe(true);
    expect(settingsFor(config, 'secret_new_location', 'other', 'svc').enabled).toBe(false);
    expect(allSettingsOf(config, 'mint_volume').map((s) => s.min_count)).toEqual([50, 5_000, 50]);
  });

  it.each([
    [{ detectors: { mint_volume: { mad_kk: 3 } } }, 'invalid configuration in test at detectors.mint_volume.mad_kk'],
    [{ detectors: { overrides: [{ client_id: 'x', mint_volume: { min_cont: 1 } }] } }, 'detectors.overrides.0.mint_volume.min_cont: unknown key'],
    [{ detectors: { overrides: [{ client_id: 'x', mint_volume: { bucket_minutes: 1 } }] } }, 'detectors.overrides.0.mint_volume.bucket_minutes: unknown key'],
    [{ detectors: { mint_volume: { min_ratio: 0.5 } } }, 'detectors.mint_volume.min_ratio'],
    [{ detectors: { allowlist: [{ country: 'DE', reason: 'vpn' }] } }, 'detectors.allowlist.0.expires'],
    [{ detectors: { allowlist: [{ country: 'de', expires: '2027-01-01', reason: 'vpn' }] } }, 'ISO 3166'],
    [{ detectors: { allowlist: [{ expires: '2027-01-01', reason: 'nothing to match' }] } }, 'needs client_id, asn, cidr or country'],
    [{ detectors: { allowlist: [{ findings: ['mint_volume'], client_id: 'x', expires: '2027-01-01', reason: 'r' }] } }, 'detectors.allowlist.0.findings.0'],
    [{ detectors: { dormant_client: { gap_margin: 0.5 } } }, 'detectors.dormant_client.gap_margin'],
    [{ detectors: { overrides: [{ client_id: 'x', dormant_client: { dormant_dayz: 9 } }] } }, 'detectors.overrides.0.dormant_client.dormant_dayz: unknown key'],
    [{ detectors: { concurrent_networks: { concurrent_window_minutes: 0 } } }, 'detectors.concurrent_networks.concurrent_window_minutes'],
    [{ detectors: { overrides: [{ client_id: 'x', concurrent_networks: { marginn: 3 } }] } }, 'detectors.overrides.0.concurrent_networks.marginn: unknown key'],
    [{ detectors: { new_credential: { parallel_window_minutes: 0 } } }, 'detectors.new_credential.parallel_window_minutes'],
    [{ detectors: { overrides: [{ client_id: 'x', stale_credential: { max_age_days: 9 } }] } }, 'detectors.overrides.0.stale_credential.max_age_days: unknown key'],
    [{ detectors: { max_window_events: 10 } }, 'detectors.max_window_events'],
    [{ detectors: { max_window_events: 2.5e7 } }, 'detectors.max_window_events'],
    [{ notifyy: {} }, 'invalid configuration in test at notifyy'],
  ])('rejects %j with one line naming the key', (document, expected) => {
    expect(() => parseConfig(document, 'test')).toThrow(expected);
    try {
      parseConfig(document, 'test');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('\n');
    }
  });

  it('reads YAML and JSON files, and names the file when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwatch-config-'));
    writeFileSync(join(dir, 'a.yaml'), 'detectors:\n  mint_volume:\n    mad_k: 9\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ detectors: { mint_volume: { mad_k: 7 } } }));
    writeFileSync(join(dir, 'c.yaml'), 'detectors: [unclosed\n');
    expect(loadConfigFile(join(dir, 'a.yaml')).detectors.mint_volume.mad_k).toBe(9);
    expect(loadConfigFile(join(dir, 'b.json')).detectors.mint_volume.mad_k).toBe(7);
    expect(() => loadConfigFile(join(dir, 'c.yaml'))).toThrow(/c\.yaml is not valid YAML or JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/cannot read TOKENWATCH_CONFIG=.*missing\.yaml/);
  });
});
