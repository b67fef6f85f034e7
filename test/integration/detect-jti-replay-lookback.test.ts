import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@tokenwatch/server/config-file';
import type { StoredAlert } from '@tokenwatch/shared/alerts/alert';
import { runTick } from '@tokenwatch/detector/engine';
import { jtiReplay } from '@tokenwatch/detector/detectors/jti-replay/index';
import { createLogger } from '@tokenwatch/shared/log';
import type { ClickHouse } from '@tokenwatch/shared/storage/clickhouse';
import { DAY_MS } from '@tokenwatch/shared/time';
import { assertionRequest as use } from '../helpers/events.js';
import { openTestStorage, storeEvents } from '../helpers/storage.js';

/**
 * jti_replay reads earlier uses of the window's jtis only from the jti_uses weeks since a
 * week before the window (reused-jtis.sql): its cost stays a week or two of jtis whatever the
 * retention. A replay across a week boundary (two partitions) is still found; a jti first used
 * far longer ago is not read at all.
 */

// Sunday 2026-11-22 23:59:30 UTC: the replay 60 s later falls in the next week's partition.
const SUNDAY_NIGHT = Date.UTC(2026, 10, 22, 23, 59, 30);

describe('jti_replay lookback (real chDB)', () => {
  let clickhouse: ClickHouse;
  let raised: StoredAlert[];

  beforeAll(async () => {
    clickhouse = await openTestStorage('detect-jti-lookback');
    const context = { clickhouse: clickhouse.client, config: parseConfig({ detectors: { safety_lag_seconds: 0 } }, 'test').detectors, logger: createLogger('silent') };
    // The same jti from two clients 30 days apart: the older use arrived (and was examined) in
    // an earlier tick, and is beyond the lookback of the tick that sees the second.
    await storeEvents(clickhouse, [use('old-a', 'svc-alpha', 'jti-month-old', SUNDAY_NIGHT - 30 * DAY_MS)]);
    const earlier = await runTick(context, jtiReplay, Date.now());
    expect(earlier.raised).toEqual([]);
    // Each use its own insert, as two batches of the worker would store them: each lands in
    // the jti_uses partition of its own week.
    await storeEvents(clickhouse, [use('week-a', 'svc-orders', 'jti-across-weeks', SUNDAY_NIGHT)]);
    await storeEvents(clickhouse, [use('week-b', 'svc-orders', 'jti-across-weeks', SUNDAY_NIGHT + 60_000)]);
    await storeEvents(clickhouse, [use('old-b', 'svc-beta', 'jti-month-old', SUNDAY_NIGHT + 120_000)]);
    raised = [...(await runTick(context, jtiReplay, Date.now())).raised];
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  it('finds a replay whose two uses sit in two weekly partitions of jti_uses', () => {
    const [alert] = raised.filter((a) => a.finding === 'jti_replay' && a.client_id === 'svc-orders');
    expect(alert).toMatchObject({ alert_key: 'jti-across-weeks', event_count: 2 });
    expect(alert?.event_ids.sort()).toEqual(['week-a', 'week-b']);
  });

  it('does not read a use older than the lookback: a month-old jti shared with another client raises nothing', () => {
    expect(raised.filter((a) => a.alert_key.includes('jti-month-old'))).toEqual([]);
    expect(raised).toHaveLength(1);
  });
});
