import { describe, expect, it } from 'vitest';
import { alertFingerprint, type AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { evidence, evidenceSchema, fieldMeta, type EvidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { mergeDrafts } from '@tokenwatch/detector/alerts-store';
import { FINDINGS } from '@tokenwatch/detector/findings';
import { createDetectors } from '@tokenwatch/detector/registry';
import { sampleEvidence, type SampleFinding } from '../helpers/alerts.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');

function draft(finding: string, evidence: Record<string, unknown>): AlertDraft {
  return {
    finding,
    severity: 'high',
    tenant: 'acme',
    client_id: 'svc-a',
    client_name: '',
    alert_key: 'k',
    window_start: 0,
    first_seen: T0,
    last_seen: T0,
    event_count: 1,
    summary: 's',
    evidence,
    event_ids: [],
  };
}

/** Every field of a schema, nested ones included, as dotted paths without a label and kind. */
function unlabelled(schema: EvidenceSchema, prefix = ''): string[] {
  return Object.entries(schema.shape).flatMap(([key, field]) => {
    const path = `${prefix}${key}`;
    const missing = fieldMeta(field) ? [] : [path];
    const def = (field as { def?: { type?: string; element?: unknown; innerType?: unknown } }).def;
    const inner = def?.type === 'nullable' ? (def.innerType as { def?: { type?: string; element?: unknown } }).def : def;
    const element = inner?.type === 'array' ? (inner.element as EvidenceSchema) : inner?.type === 'object' ? (field as EvidenceSchema) : undefined;
    const nested = element && 'shape' in element ? unlabelled(element, `${path}.`) : [];
    return [...missing, ...nested];
  });
}

describe('findings', () => {
  it('are the findings the detectors declare: one list, nothing written twice', () => {
    // ioc_match is raised by `tokenwatch sweep --alert`, not by a detector.
    expect(FINDINGS.names).toEqual([...createDetectors().flatMap((detector) => detector.findings.map((finding) => finding.name)), 'ioc_match']);
    expect(FINDINGS.names).toEqual(['watched_credential', 'jti_replay', 'jti_cross_client', 'assertion_hygiene', 'mint_volume', 'invalid_client_burst', 'secret_new_location', 'dormant_client', 'unknown_client', 'new_scope', 'new_user_agent', 'concurrent_networks', 'new_credential', 'stale_credential', 'ioc_match']);
  });

  it('label every evidence field, nested ones included', () => {
    // The check itself: a refinement keeps its field's label (zod registries follow a schema's
    // parent), .nullable() is looked through, but a wrapper such as .default() hides it.
    const careless = evidenceSchema({
      a: evidence.text('A').max(5),
      b: evidence.list('B', evidenceSchema({ c: evidence.count('C').max(9), d: evidence.ip('D') })),
      e: evidence.group('E', { f: evidence.time('F').nullable(), g: evidence.flag('G').default(false) }),
    });
    expect(unlabelled(careless)).toEqual(['e.g']);
    for (const finding of FINDINGS.findings) expect(unlabelled(finding.evidence), finding.name).toEqual([]);
  });

  it('accept the sample evidence of every finding (stored and rendered by the other tests)', () => {
    for (const name of FINDINGS.names) {
      const read = FINDINGS.read({ finding: name, evidence: sampleEvidence[name as SampleFinding]() });
      expect(read.ok, read.ok ? name : read.problem).toBe(true);
    }
  });

  it('refuses a draft whose evidence breaks its schema, naming the finding and the key', () => {
    const renamed = { ...sampleEvidence.mint_volume() } as Record<string, unknown>;
    renamed.baseline_med = renamed.baseline_median;
    delete renamed.baseline_median;
    expect(() => mergeDrafts([draft('mint_volume', renamed)], T0)).toThrow(
      'alert draft refused: mint_volume evidence is invalid at baseline_median: Invalid input: expected number, received undefined; (evidence): Unrecognized key: "baseline_med"',
    );
    const nested = sampleEvidence.jti_replay();
    expect(() => mergeDrafts([draft('jti_replay', { ...nested, uses: [{ ...nested.uses[0], time: 'yesterday' }] })], T0)).toThrow(
      'alert draft refused: jti_replay evidence is invalid at uses.0.time: Invalid ISO datetime',
    );
    expect(() => mergeDrafts([draft('jti_reply', sampleEvidence.jti_replay())], T0)).toThrow(
      'alert draft refused: unknown finding "jti_reply" (known: watched_credential, jti_replay, jti_cross_client, assertion_hygiene, mint_volume, invalid_client_burst, secret_new_location, dormant_client, unknown_client, new_scope, new_user_agent, concurrent_networks, new_credential, stale_credential, ioc_match)',
    );
    // A valid draft passes, its evidence as the schema parsed it.
    const [alert] = mergeDrafts([draft('jti_replay', sampleEvidence.jti_replay())], T0);
    expect(alert?.evidence).toEqual(sampleEvidence.jti_replay());
  });

  it('keep fingerprints stable across the detector → finding rename', () => {
    // Values computed by the code before the rename, from the same parts.
    expect(alertFingerprint({ finding: 'jti_replay', tenant: 'acme', client_id: 'svc-a', alert_key: 'jti-1', window_start: 0 })).toBe(
      '037037049cc57a08091a61e9cb1f50b2',
    );
    expect(
      alertFingerprint({ finding: 'mint_volume', tenant: 'acme', client_id: 'svc-b', alert_key: 'mint_volume', window_start: Date.parse('2026-01-01T00:00:00Z') }),
    ).toBe('8d035280519d01a431829c507506d8e0');
  });
});
