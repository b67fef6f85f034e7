import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS, MINUTE_MS, WEEK_MS } from '@tokenwatch/shared/time';
import { clientKey, readClientHistory, type ClientHistory } from '../../clients.js';
import { settingsFor, type DetectorsConfig, type MintVolumeConfig } from '../../config.js';
import { windowParams, type DetectContext, type Detector, type DetectWindow } from '../../detector.js';
import { planBaseline, score, threshold, type Baseline, type BaselinePlan } from './baseline.js';
import { INVALID_CLIENT_BURST, MINT_VOLUME } from './findings.js';

const TOUCHED_BUCKETS = sql(import.meta.url, './touched-buckets.sql');
const BUCKET_COUNTS = sql(import.meta.url, './bucket-counts.sql');
const TOP_SOURCES = sql(import.meta.url, './top-sources.sql');
const BASELINES = sql(import.meta.url, './baselines.sql');

const touchedRow = z.object({ tenant: z.string(), client_id: z.string(), bucket_ms: z.coerce.number() });
type TouchedRow = z.output<typeof touchedRow>;
const countRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  bucket_ms: z.coerce.number(),
  successes: z.coerce.number(),
  auth_failures: z.coerce.number(),
});
const baselineRow = z.object({
  tenant: z.string(),
  client_id: z.string(),
  end_ms: z.coerce.number(),
  s_median: z.coerce.number(),
  s_mad: z.coerce.number(),
  f_median: z.coerce.number(),
  f_mad: z.coerce.number(),
});
const sourceRow = z.object({
  ip: z.string(),
  asn: z.coerce.number(),
  as_org: z.string(),
  country: z.string(),
  hosting_provider: z.string(),
  requests: z.coerce.number(),
  sample_event_ids: z.array(z.string()),
});

/** The two series judged per client, each its own finding: successful issuance, and failed client authentication. */
const SERIES = {
  mint_volume: { finding: MINT_VOLUME, column: 'successes', outcome: 'success' },
  invalid_client_burst: { finding: INVALID_CLIENT_BURST, column: 'auth_failures', outcome: 'failure' },
} as const;
type BurstFinding = keyof typeof SERIES;

type Series = Map<number, number>;

/**
 * mint_volume: per (tenant, client), successful token issuance per bucket against the
 * client's own baseline (see baseline.ts); and, as `invalid_client_burst`, failed client
 * authentication (a guessed secret, a broken rotation) against its own. Baseline statistics
 * are cached per client and plan (baseline.ts: per day while a client is young, per hour once
 * it is compared week over week), so most ticks read only the buckets that just received
 * requests.
 */
export function createMintVolume(): Detector {
  const baselines = new Map<string, Baseline>();

  async function detect(context: DetectContext, window: DetectWindow): Promise<AlertDraft[]> {
    const { clickhouse, config } = context;
    const settings = config.mint_volume;
    const bucketMs = settings.bucket_minutes * MINUTE_MS;
    const touched = await queryRows(clickhouse, TOUCHED_BUCKETS, { ...windowParams(window), bucket_minutes: settings.bucket_minutes }, touchedRow);
    if (touched.length === 0) return [];
    const clients = uniqueClients(touched);
    const history = await readClientHistory(clickhouse, clients);

    // Observed: the touched buckets, whole (earlier requests of a bucket count too).
    const firstBucket = Math.min(...touched.map((row) => row.bucket_ms));
    const lastBucket = Math.max(...touched.map((row) => row.bucket_ms));
    const observed = await readSeries(context, clients, firstBucket, lastBucket + bucketMs);

    // Each bucket's baseline design; the statistics missing from the cache come from ClickHouse.
    const planSettings = {
      bucketMs,
      baselineDays: settings.baseline_days,
      hourOfWeekMinWeeks: settings.hour_of_week_min_weeks,
      coldStartHours: settings.cold_start_hours,
    };
    const plans = touched.map((row) => ({
      row,
      plan: planBaseline(row.bucket_ms, history.get(clientKey(row.tenant, row.client_id))?.firstSeen ?? row.bucket_ms, planSettings),
    }));
    await fillBaselines(context, plans.filter(({ row, plan }) => plan.kind !== 'cold_start' && !baselines.has(baselineKey(row, 'mint_volume', plan))));
    evictBefore(baselines, firstBucket - 2 * DAY_MS);

    const drafts: AlertDraft[] = [];
    for (const { row, plan } of plans) {
      const clientSettings = settingsFor(config, 'mint_volume', row.tenant, row.client_id);
      if (!clientSettings.enabled) continue;
      for (const finding of Object.keys(SERIES) as BurstFinding[]) {
        const count = observed.get(seriesKey(row, finding))?.get(row.bucket_ms) ?? 0;
        const baseline = plan.kind === 'cold_start' ? COLD_START : baselines.get(baselineKey(row, finding, plan));
        if (!baseline || count === 0) continue;
        const limit = threshold(baseline, limitsFor(finding, clientSettings));
        if (count <= limit) continue;
        drafts.push(
          await burstDraft(context, finding, row, count, baseline, limit, bucketMs, history.get(clientKey(row.tenant, row.client_id))),
        );
      }
    }
    return drafts;
  }

  /** Computes and caches the statistics of these baseline plans: one query per kind. */
  async function fillBaselines(context: DetectContext, wanted: ReadonlyArray<{ row: TouchedRow; plan: BaselinePlan }>): Promise<void> {
    const settings = context.config.mint_volume;
    for (const kind of ['trailing', 'hour_of_week'] as const) {
      const requests = new Map<string, { row: TouchedRow; plan: Extract<BaselinePlan, { end: number }> }>();
      for (const { row, plan } of wanted) {
        if (plan.kind === kind) requests.set(baselineKey(row, 'mint_volume', plan), { row, plan });
      }
      if (requests.size === 0) continue;
      const list = [...requests.values()];
      const weekSlots = kind === 'hour_of_week'
        ? [...new Set(list.flatMap(({ plan }) => Array.from({ length: Math.round((plan.end - plan.windowStart) / WEEK_MS) }, (_, k) => plan.end - (k + 1) * WEEK_MS)))]
        : [];
      const rows = await queryRows(context.clickhouse, BASELINES, {
        by_week: kind === 'hour_of_week' ? 1 : 0,
        bucket_minutes: settings.bucket_minutes,
        failure_codes: settings.failure_error_codes,
        tenants: list.map(({ row }) => row.tenant),
        clients: list.map(({ row }) => row.client_id),
        end_seconds: list.map(({ plan }) => plan.end / 1000),
        window_starts: list.map(({ plan }) => plan.windowStart / 1000),
        samples: list.map(({ plan }) => plan.samples),
        week_slots: weekSlots.map((slot) => slot / 1000),
      }, baselineRow);
      for (const row of rows) {
        const plan = { kind, end: row.end_ms, windowStart: 0, samples: 0 };
        const samples = requests.get(baselineKey(row, 'mint_volume', plan))?.plan.samples ?? 0;
        baselines.set(baselineKey(row, 'mint_volume', plan), { kind, samples, median: row.s_median, mad: row.s_mad });
        baselines.set(baselineKey(row, 'invalid_client_burst', plan), { kind, samples, median: row.f_median, mad: row.f_mad });
      }
    }
  }

  async function readSeries(
    context: DetectContext,
    clients: ReadonlyArray<{ tenant: string; client_id: string }>,
    from: number,
    to: number,
  ): Promise<Map<string, Series>> {
    const { config } = context;
    const rows = await queryRows(context.clickhouse, BUCKET_COUNTS, {
      bucket_minutes: config.mint_volume.bucket_minutes,
      failure_codes: config.mint_volume.failure_error_codes,
      tenants: [...new Set(clients.map((c) => c.tenant))],
      clients: [...new Set(clients.map((c) => c.client_id))],
      from: toClickHouseTime(from).slice(0, 19),
      to: toClickHouseTime(to).slice(0, 19),
    }, countRow);
    const series = new Map<string, Series>();
    for (const row of rows) {
      for (const finding of Object.keys(SERIES) as BurstFinding[]) {
        const key = seriesKey(row, finding);
        const values = series.get(key) ?? new Map<number, number>();
        values.set(row.bucket_ms, row[SERIES[finding].column]);
        series.set(key, values);
      }
    }
    return series;
  }

  return {
    name: 'mint_volume',
    findings: [MINT_VOLUME, INVALID_CLIENT_BURST],
    enabled: (config) => config.mint_volume.enabled,
    detect,
    resolveAfterMs: (config: DetectorsConfig) =>
      new Map(Object.keys(SERIES).map((finding) => [finding, config.mint_volume.resolve_after_minutes * MINUTE_MS])),
  };
}

function limitsFor(finding: BurstFinding, settings: MintVolumeConfig) {
  return finding === 'mint_volume'
    ? { k: settings.mad_k, minCount: settings.min_count, minRatio: settings.min_ratio, coldStartCap: settings.cold_start_cap }
    : { k: settings.mad_k, minCount: settings.failure_min_count, minRatio: settings.failure_min_ratio, coldStartCap: settings.failure_min_count };
}

async function burstDraft(
  context: DetectContext,
  finding: BurstFinding,
  row: TouchedRow,
  observed: number,
  baseline: Baseline,
  limit: number,
  bucketMs: number,
  history: ClientHistory | undefined,
): Promise<AlertDraft> {
  const sources = await queryRows(context.clickhouse, TOP_SOURCES, {
    tenant: row.tenant,
    client_id: row.client_id,
    from: toClickHouseTime(row.bucket_ms),
    to: toClickHouseTime(row.bucket_ms + bucketMs),
    outcome: SERIES[finding].outcome,
    failure_codes: context.config.mint_volume.failure_error_codes,
  }, sourceRow);
  const minutes = bucketMs / MINUTE_MS;
  const normal = baseline.kind === 'cold_start' ? `the new-client cap of ${limit}` : `a usual ${baseline.median} (MAD ${baseline.mad})`;
  const what = finding === 'mint_volume' ? 'tokens issued' : 'failed client authentications';
  const asns = new Set(sources.map((source) => source.asn).filter((asn) => asn > 0));
  return SERIES[finding].finding.draft({
    severity: observed >= 3 * limit ? 'high' : 'medium',
    tenant: row.tenant,
    client_id: row.client_id,
    client_name: history?.clientName ?? '',
    alert_key: finding,
    // One alert per client and UTC day; each further anomalous bucket updates it.
    window_start: Math.floor(row.bucket_ms / DAY_MS) * DAY_MS,
    first_seen: row.bucket_ms,
    last_seen: row.bucket_ms + bucketMs,
    event_count: observed,
    summary: `${observed} ${what} in ${minutes} minutes for client ${row.client_id}, against ${normal}; alert threshold ${round(limit)}.`,
    evidence: {
      observed,
      baseline_median: baseline.median,
      baseline_mad: baseline.mad,
      baseline_kind: baseline.kind,
      baseline_samples: baseline.samples,
      threshold: round(limit),
      score: round(score(observed, baseline)),
      bucket_start: new Date(row.bucket_ms).toISOString(),
      bucket_minutes: minutes,
      source_ips: sources.map(({ sample_event_ids: _ids, ...source }) => source),
      distinct_asns: [...asns],
    },
    event_ids: sources.flatMap((source) => source.sample_event_ids).slice(0, 100),
  });
}

function uniqueClients(rows: ReadonlyArray<{ tenant: string; client_id: string }>) {
  const clients = new Map(rows.map((row) => [clientKey(row.tenant, row.client_id), { tenant: row.tenant, client_id: row.client_id }]));
  return [...clients.values()];
}

const seriesKey = (row: { tenant: string; client_id: string }, finding: BurstFinding) => `${clientKey(row.tenant, row.client_id)}\u0000${finding}`;
const baselineKey = (row: { tenant: string; client_id: string }, finding: BurstFinding, plan: Extract<BaselinePlan, { end: number }>) =>
  `${seriesKey(row, finding)}\u0000${plan.kind}\u0000${plan.end}`;

const COLD_START: Baseline = { kind: 'cold_start', median: 0, mad: 0, samples: 0 };

function evictBefore(baselines: Map<string, Baseline>, cutoff: number): void {
  if (baselines.size < 50_000) return;
  for (const key of baselines.keys()) {
    if (Number(key.slice(key.lastIndexOf('\u0000') + 1)) < cutoff) baselines.delete(key);
  }
}

const round = (value: number) => Math.round(value * 100) / 100;
