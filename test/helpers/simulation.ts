import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { openEnricher } from '@tokenwatch/ingest/enrich/enricher';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { simulate, type AttackLabel, type SimulateOptions, type Simulation } from '@tokenwatch/simulator/index';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { storeDecoded } from '@tokenwatch/ingest/store';
import { refreshTestRollups, TEST_RETENTION_DAYS } from './storage.js';

const CHUNK = 50_000;

/**
 * Simulated traffic stored the way the ingest worker stores it: through its write path, each
 * event through the real decoder (canonical: the simulator's native renderings decode to these
 * same events, which test/unit/simulate.test.ts checks) and the offline enrichment, in batches.
 */
export async function storeSimulation(
  clickhouse: ClickHouse,
  options: SimulateOptions,
): Promise<{ events: number; labels: readonly AttackLabel[]; allowlist: Simulation['allowlist'] }> {
  const simulation = simulate(options);
  const enricher = await openEnricher();
  const decode = (event: TokenRequestInput) =>
    decodeMessage(Buffer.from(JSON.stringify(event)), { adapters: FORMATS, format: 'canonical', enrich: enricher.enrich });
  let events = 0;
  let batch = 0;
  let chunk: TokenRequestInput[] = [];
  const flush = async () => {
    batch += 1;
    const outcome = await storeDecoded(chunk, decode, {
      clickhouse: clickhouse.client,
      source: `simulation-${options.seed}-${batch}`,
      retentionDays: TEST_RETENTION_DAYS,
    });
    const [rejected] = outcome.rejected;
    if (rejected) throw new Error(`simulated event ${rejected.record.event_id} was not stored: ${rejected.reason}`);
    events += outcome.stored + outcome.repeatedInBatch;
    chunk = [];
  };
  for (const event of simulation.events) {
    chunk.push(event);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  // Rolled up like storeEvents' rows, for tests that read the rollups right after. (A backtest
  // begun within safety_lag_seconds of the last insert used to judge without those rows' rollups
  // and missed attacks in CI; it now rolls them up itself: backtest-fresh-arrivals.test.ts.)
  await refreshTestRollups(clickhouse);
  return { events, labels: simulation.labels, allowlist: simulation.allowlist };
}

/** An alert explains a label when it names the label's client and overlaps its time (an hour either side). */
export function explains(alert: StoredAlert, label: AttackLabel): boolean {
  return (
    alert.tenant === label.tenant &&
    alert.client_id === label.client_id &&
    alert.first_seen <= label.end + 3_600_000 &&
    alert.last_seen >= label.start - 3_600_000
  );
}

/** Attacks no alert of the right finding explains, and alerts no attack explains. */
export function scoreAlerts(alerts: readonly StoredAlert[], labels: readonly AttackLabel[]) {
  return {
    missed: labels.filter((label) => !alerts.some((alert) => alert.finding === label.finding && explains(alert, label))),
    benign: alerts.filter((alert) => !labels.some((label) => explains(alert, label))),
  };
}
