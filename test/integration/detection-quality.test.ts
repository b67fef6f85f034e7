import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/shared/config/file';
import type { StoredAlert } from '@tokenwatch/shared/detect/alert';
import { backtest } from '@tokenwatch/shared/detect/engine';
import { createDetectors } from '@tokenwatch/shared/detect/registry';
import { openEnricher } from '@tokenwatch/shared/enrich/enricher';
import { FORMATS } from '@tokenwatch/shared/formats/registry';
import { decodeMessage } from '@tokenwatch/shared/ingest/decode';
import { createLogger } from '@tokenwatch/shared/log';
import { simulate, type AttackLabel } from '@tokenwatch/shared/simulate/index';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { insertTokenRequests } from '@tokenwatch/shared/storage/token-requests';
import { openTestStorage } from '../helpers/storage.js';

// Three weeks of simulated machine traffic (300 clients across Okta, Auth0, Entra, Keycloak and
// an assertion-tap tenant, about 1.7 million requests) with one attack of each kind injected
// after eight days, each sent as its IdP's native log record through the real decoders and
// enrichment, stored, then examined by every detector with the backtest (the live ticks'
// code over stored history).

const START = Date.UTC(2026, 9, 5);
const DAYS = 21;
const DAY = 86_400_000;
const CHUNK = 50_000;

describe('detection quality on simulated traffic', () => {
  let clickhouse: ClickHouse;
  let labels: readonly AttackLabel[];
  let alerts: StoredAlert[];
  let events = 0;

  beforeAll(async () => {
    clickhouse = await openTestStorage('detection-quality');
    const simulation = simulate({ seed: 1, start: START, days: DAYS, attacks: 'all', attacksPerKind: 1 });
    const enricher = await openEnricher();
    let lines: string[] = [];
    let batch = 0;
    const flush = async () => {
      batch += 1;
      await insertTokenRequests(clickhouse.client, lines, { dedupToken: `quality-${batch}` });
      lines = [];
    };
    for (const event of simulation.events) {
      for (const result of decodeMessage(Buffer.from(JSON.stringify(event)), { adapters: FORMATS, format: 'auto', enrich: enricher.enrich })) {
        if (result.kind !== 'ok') throw new Error(`simulated event ${event.event_id} did not decode: ${result.reason}`);
        lines.push(result.json);
        events += 1;
      }
      if (lines.length >= CHUNK) await flush();
    }
    await flush();
    labels = simulation.labels;
    const context = {
      clickhouse: clickhouse.client,
      config: parseConfig({}, 'defaults').detectors,
      logger: createLogger('silent'),
    };
    alerts = [];
    for (const detector of createDetectors()) alerts.push(...(await backtest(context, detector, { from: START, to: START + DAYS * DAY })));
  }, 900_000);

  afterAll(async () => {
    await clickhouse?.close();
  });

  /** An alert explains a label when it names the label's client and overlaps its time (an hour either side). */
  const explains = (alert: StoredAlert, label: AttackLabel) =>
    alert.tenant === label.tenant &&
    alert.client_id === label.client_id &&
    alert.first_seen <= label.end + 3_600_000 &&
    alert.last_seen >= label.start - 3_600_000;

  it('stores more than a million simulated requests with every attack kind labeled', () => {
    expect(events).toBeGreaterThan(1_000_000);
    expect(new Set(labels.map((label) => label.kind)).size).toBe(6);
  });

  it('finds every injected attack with the right detector on the right client', () => {
    const missed = labels.filter((label) => !alerts.some((alert) => alert.detector === label.detector && explains(alert, label)));
    expect(missed.map((label) => `${label.kind} on ${label.tenant}/${label.client_id}`)).toEqual([]);
  });

  it('raises at most one alert per million benign requests', () => {
    const benign = alerts.filter((alert) => !labels.some((label) => explains(alert, label)));
    const allowed = Math.floor(events / 1_000_000);
    expect(
      benign.map((alert) => `${alert.severity} ${alert.detector} ${alert.tenant}/${alert.client_id}: ${alert.summary}`),
      `${benign.length} benign alerts over ${events} requests`,
    ).toHaveLength(Math.min(benign.length, allowed));
  });
});
