import { createInterface } from 'node:readline';
import { z } from 'zod';
import { PRECISION_BY_FINDING, precisionRowSchema, type PrecisionRow } from '@tokenwatch/detector/triage/precision';
import { readOnlySql } from '@tokenwatch/server/read-only';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import { parseFlags, timeFlag } from '../flags.js';
import type { CommandContext } from '../run.js';

const reportFlags = z.object({ since: timeFlag(), json: z.boolean().optional() });

/**
 * `tokenwatch report [--since <time>] [--json]`: precision per finding from on-call's verdicts
 * (true positives among the alerts with a verdict), the count of each verdict and of alerts
 * without one, for alerts raised since a time (default 90d): tuning driven by what on-call decided.
 */
export async function reportCommand({ settings }: CommandContext, flags: unknown): Promise<void> {
  const options = parseFlags(reportFlags, flags);
  const result = await readOnlySql(settings, { query: PRECISION_BY_FINDING, format: 'JSONEachRow', params: { since: toClickHouseTime(options.since) } });
  const rows: PrecisionRow[] = [];
  for await (const line of createInterface({ input: result, crlfDelay: Infinity })) {
    if (line.trim() !== '') rows.push(precisionRowSchema.parse(JSON.parse(line)));
  }
  if (options.json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const header = ['finding', 'alerts', 'precision', 'true_positive', 'benign', 'needs_tuning', 'without_verdict'];
  const table = [
    header,
    ...rows.map((row) => [
      row.finding,
      String(row.alerts),
      row.precision === null ? '-' : `${(row.precision * 100).toFixed(1)}%`,
      String(row.true_positive),
      String(row.benign),
      String(row.needs_tuning),
      String(row.without_verdict),
    ]),
  ];
  const widths = header.map((_, column) => Math.max(...table.map((cells) => (cells[column] ?? '').length)));
  for (const cells of table) process.stdout.write(`${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`);
}
