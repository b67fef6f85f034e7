import { z } from 'zod';

/**
 * The picture an alert's page draws for its finding: each kind answers the question its
 * finding raises ("how far above normal?", "where was this jti used?", "is this network new?").
 * The server builds a picture (read-picture.ts) and the page draws it (web/src/pictures/); this
 * module is both sides' contract, so it imports nothing but zod.
 */

const time = z.number().int().nonnegative();
const count = z.number().nonnegative();

/** Requests (or failures) per bucket around the alert, against the band the detector judged them by. */
export const volumeBandSchema = z.object({
  kind: z.literal('volume_band'),
  series: z.enum(['successes', 'failures']),
  bucket_minutes: z.number().int().positive(),
  buckets: z.array(time),
  counts: z.array(count),
  /** The alert's bucket(s): shaded. */
  marked: z.object({ from: time, to: time }),
  /** The detector's own numbers, from the alert's evidence. */
  band: z.object({ median: count, mad: count, threshold: count, baseline_kind: z.string(), samples: count }),
  legend: z.string(),
});

/** Every use of one client assertion (jti), on a timeline, coloured by network. */
export const jtiTimelineSchema = z.object({
  kind: z.literal('jti_timeline'),
  jti: z.string(),
  uses: z.array(
    z.object({
      time,
      client_id: z.string(),
      outcome: z.string(),
      error_code: z.string(),
      source_ip: z.string(),
      asn: z.number().int().nonnegative(),
      as_org: z.string(),
      country: z.string(),
    }),
  ),
  truncated: z.boolean(),
  legend: z.string(),
});

/** One row of a grid: a network, a credential, a scope or a software family, its count per column. */
const gridRow = z.object({
  label: z.string(),
  detail: z.string(),
  first_ms: time,
  last_ms: time,
  requests: count,
  cells: z.array(count),
  marked: z.boolean(),
});
export type GridRow = z.output<typeof gridRow>;

/** A grid of rows against columns of time (days or weeks), the alert's rows marked. */
const grid = {
  columns: z.array(time),
  column_ms: z.number().int().positive(),
  rows: z.array(gridRow),
  truncated: z.boolean(),
  legend: z.string(),
};

/** The client's networks (ASN and country) per day over 30 days, the alert's network marked. */
export const networksDaysSchema = z.object({ kind: z.literal('networks_days'), ...grid });
/** The client's ASNs in each 5-minute slot of the alert's day (concurrent_networks), the burst's marked. */
export const asnSlotsSchema = z.object({ kind: z.literal('asn_slots'), day: time, ...grid });
/** The client's scopes and audiences, or its software families, per week, the new one marked. */
export const traitsWeeksSchema = z.object({ kind: z.literal('traits_weeks'), trait: z.enum(['scopes', 'software']), ...grid });
/** The client's credentials: first and last use, days used over 30 days, the alert's marked. */
export const credentialsTimelineSchema = z.object({ kind: z.literal('credentials_timeline'), ...grid });

/** The fallback: the client's requests per hour around the alert (the alert page's chart). */
export const activitySchema = z.object({
  kind: z.literal('activity'),
  hours: z.array(time),
  successes: z.array(count),
  failures: z.array(count),
  legend: z.string(),
});

export const pictureSchema = z.discriminatedUnion('kind', [
  volumeBandSchema,
  jtiTimelineSchema,
  networksDaysSchema,
  asnSlotsSchema,
  traitsWeeksSchema,
  credentialsTimelineSchema,
  activitySchema,
]);
export type Picture = z.output<typeof pictureSchema>;
export type PictureKind = Picture['kind'];

/**
 * The one place that says which picture fits which finding. test/unit/console-pictures.test.ts
 * checks every finding of the detector's catalogue is here, so a new finding cannot silently
 * lack one; a finding missing at run time (a row written by a newer version) gets `activity`.
 */
export const PICTURE_OF_FINDING: Readonly<Record<string, PictureKind>> = {
  mint_volume: 'volume_band',
  invalid_client_burst: 'volume_band',
  jti_replay: 'jti_timeline',
  jti_cross_client: 'jti_timeline',
  secret_new_location: 'networks_days',
  dormant_client: 'networks_days',
  unknown_client: 'networks_days',
  concurrent_networks: 'asn_slots',
  new_scope: 'traits_weeks',
  new_user_agent: 'traits_weeks',
  new_credential: 'credentials_timeline',
  stale_credential: 'credentials_timeline',
  watched_credential: 'credentials_timeline',
  ioc_match: 'networks_days',
  // Assertion hygiene is about a day of one client's requests: their volume is the picture.
  assertion_hygiene: 'activity',
};

export function pictureKindOf(finding: string): PictureKind {
  return Object.hasOwn(PICTURE_OF_FINDING, finding) ? (PICTURE_OF_FINDING[finding] as PictureKind) : 'activity';
}
