import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { openEnricher } from '@tokenwatch/ingest/enrich/enricher';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { simulate, type AttackLabel, type SimulateOptions } from '@tokenwatch/simulator/index';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';

const CHUNK = 50_000;

/**
 * Simulated traffic stored the way the ingest worker stores it: each event through the real
 * decoder (canonical: the simulator's native renderings decode to these same events, which
 * test/unit/simulate.test.ts checks) and the offline enrichment, then inserted in batches.
 */
export async function storeSimulation(
  clickhouse: ClickHouse,
  options: SimulateOptions,
): Promise<{ events: number; labels: readonly AttackLabel[] }> {
  const simulation = simulate(options);
  const enricher = await openEnricher();
  let lines: string[] = [];
  let events = 0;
  let batch = 0;
  const flush = async () => {
    batch += 1;
    await insertTokenRequests(clickhouse.client, lines, { dedupToken: `simulation-${options.seed}-${batch}` });
    lines = [];
  };
  for (const event of simulation.events) {
    for (const result of decodeMessage(Buffer.from(JSON.stringify(event)), { adapters: FORMATS, format: 'canonical', enrich: enricher.enrich })) {
      if (result.kind !== 'ok') throw new Error(`simulated event ${event.event_id} did not decode: ${result.reason}`);
      lines.push(result.json);
      events += 1;
    }
    if (lines.length >= CHUNK) await flush();
  }
  await flush();
  return { events, labels: simulation.labels };
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
