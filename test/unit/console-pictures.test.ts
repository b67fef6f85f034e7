import { describe, expect, it } from 'vitest';
import { FINDINGS } from '@tokenwatch/detector/findings';
import { PICTURE_OF_FINDING, pictureKindOf, pictureSchema } from '@tokenwatch/console/api/pictures/kinds';
import { markersOf } from '@tokenwatch/console/api/pictures/markers';
import { sampleEvidence, type SampleFinding } from '../helpers/alerts.js';

// The alert page's picture per finding (services/console/src/api/pictures/): every finding of
// the detector's catalogue has one, and what a picture marks is read from the evidence the
// finding's schema really produces (the samples are typed by the schemas).

/** Findings whose picture marks nothing by design (their caption says why). */
const MARKS_NOTHING = new Set(['unknown_client', 'ioc_match']);
/** Picture kinds that mark rows (the grids); the others draw their own evidence. */
const MARKING_KINDS = new Set(['networks_days', 'asn_slots', 'traits_weeks', 'credentials_timeline']);

describe('the picture of each finding', () => {
  it('exists for every finding of the catalogue, and names no finding the catalogue lacks', () => {
    const missing = FINDINGS.names.filter((name) => !Object.hasOwn(PICTURE_OF_FINDING, name));
    expect(missing, 'add these findings to PICTURE_OF_FINDING in services/console/src/api/pictures/kinds.ts').toEqual([]);
    expect(Object.keys(PICTURE_OF_FINDING).filter((name) => !FINDINGS.names.includes(name))).toEqual([]);
    // The page can draw each kind named (the union's kinds are the only ones).
    const kinds = new Set(pictureSchema.options.map((option) => option.shape.kind.value));
    for (const kind of Object.values(PICTURE_OF_FINDING)) expect(kinds.has(kind)).toBe(true);
  });

  it('falls back to the activity chart for a finding it does not know (a row written by a newer version)', () => {
    expect(pictureKindOf('made_up_finding')).toBe('activity');
    expect(pictureKindOf('__proto__')).toBe('activity');
    expect(pictureKindOf('mint_volume')).toBe('volume_band');
  });

  it('marks what each finding is about, read from the evidence its schema produces', () => {
    const marked = (finding: SampleFinding) => markersOf({ finding, evidence: sampleEvidence[finding]() as Record<string, unknown> });
    const location = sampleEvidence.secret_new_location().new_location;
    expect(marked('secret_new_location').values).toEqual([`${location.asn}|${location.country}`]);
    expect(marked('secret_new_location').reason).toContain(location.value);
    const woke = sampleEvidence.dormant_client().woke;
    expect(marked('dormant_client').values).toEqual([`${woke.asn}|${woke.country}`]);
    expect(marked('concurrent_networks').values).toEqual(['16509', '64510']);
    expect(marked('concurrent_networks').reason).toContain('never used before: AS64510');
    expect(marked('new_scope').values).toEqual(['okta.users.manage']);
    expect(marked('new_user_agent').values).toEqual(['python-requests']);
    expect(marked('new_credential').values).toEqual([sampleEvidence.new_credential().credential_id]);
    expect(marked('stale_credential').values).toEqual([sampleEvidence.stale_credential().credential_id]);
    // A watch of every credential marks the credentials used while watched.
    expect(marked('watched_credential').values).toEqual(['key-1']);
    const namedNone = markersOf({ finding: 'watched_credential', evidence: { ...sampleEvidence.watched_credential(), credentials: [] } });
    expect(namedNone).toEqual({ values: [], reason: 'Nothing is marked: the watch covers every credential of the client, and the requests named none.' });
    // Every grid finding marks something from its sample, unless it marks nothing by design.
    for (const name of Object.keys(sampleEvidence) as SampleFinding[]) {
      if (!MARKING_KINDS.has(pictureKindOf(name)) || MARKS_NOTHING.has(name)) continue;
      expect(marked(name).values.length, name).toBeGreaterThan(0);
    }
  });

  it('marks nothing, and says so, when the evidence has another shape', () => {
    const markers = markersOf({ finding: 'secret_new_location', evidence: { level: 'country' } });
    expect(markers.values).toEqual([]);
    expect(markers.reason).toMatch(/^Nothing is marked: this secret_new_location alert's evidence does not name what to mark\.$/);
  });
});
