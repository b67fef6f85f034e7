import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '@tokenwatch/shared/log';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import type { Finding } from '@tokenwatch/shared/alerts/finding';
import type { Inventory } from '@tokenwatch/shared/inventory/inventory';
import type { DetectorsConfig } from './config.js';

/**
 * The slice of stored data one run examines: events that arrived (ingested_at) in
 * (ingestedAfter, ingestedUntil] and happened (time) in [timeFrom, timeTo). A live tick bounds
 * arrival by its watermark and leaves time open; a backtest bounds time and takes everything
 * stored. Both run the same queries with these four parameters.
 */
export interface DetectWindow {
  readonly ingestedAfter: number;
  readonly ingestedUntil: number;
  readonly timeFrom: number;
  readonly timeTo: number;
  /** The run's notion of now: wall clock live, timeTo in a backtest (allowlist expiry etc.). */
  readonly now: number;
}

export interface DetectContext {
  readonly clickhouse: ClickHouseClient;
  readonly config: DetectorsConfig;
  readonly logger: Logger;
  /** The client inventory in use for this run (TOKENWATCH_INVENTORY); none: EMPTY_INVENTORY. */
  readonly inventory?: Inventory;
}

/**
 * A detector: a name, a ClickHouse query over the window's new events, and a function that
 * turns what it finds into alert drafts of its findings (declared in its folder's
 * findings.ts). It never writes; the engine checks and stores the drafts.
 */
export interface Detector {
  /** Also the watermark's name. */
  readonly name: string;
  /** The findings its alerts may carry, each with its evidence schema (findings.ts collects them). */
  readonly findings: readonly Finding[];
  enabled(config: DetectorsConfig): boolean;
  detect(context: DetectContext, window: DetectWindow): Promise<AlertDraft[]>;
  /** Findings that resolve by themselves after this long without new evidence (live runs only). */
  resolveAfterMs?(config: DetectorsConfig): ReadonlyMap<string, number>;
}

/** The window parameters every detector query takes, as ClickHouse DateTime64 text. */
export function windowParams(window: DetectWindow): Record<string, string> {
  return {
    ingested_after: toClickHouseTime(window.ingestedAfter),
    ingested_until: toClickHouseTime(window.ingestedUntil),
    time_from: toClickHouseTime(window.timeFrom),
    time_to: toClickHouseTime(window.timeTo),
  };
}
