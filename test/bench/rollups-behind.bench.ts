/**
 * npm run bench:rollups-behind — the service's ticks after downtime or a back-fill, when the
 * rollups are behind too: the tick's bounded refresh (at most catch_up_windows_per_tick windows)
 * against one refresh of the whole backlog first (as the first tick did before). Rounds
 * alternate the two variants (BENCH_ROUNDS each, default 2), each a child process of its own
 * (rollups-behind-run.ts) over a fresh directory holding BENCH_EVENTS (default 300,000) requests
 * of the last hour and, as the last two arrivals, a fresh jti replay. Times are from the first
 * tick's start: the first detector's tick done, the first service tick done (every enabled
 * detector once), the first alert, the fresh replay's alert, and caught up (no detector
 * behind). Prints a markdown table for docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { z } from 'zod';

const ROUNDS = z.coerce.number().int().positive().default(2).parse(process.env.BENCH_ROUNDS);
const EVENTS = z.coerce.number().int().positive().default(300_000).parse(process.env.BENCH_EVENTS);
const VARIANTS = ['unbounded', 'bounded'] as const;

const roundResult = z.object({
  variant: z.enum(VARIANTS),
  events: z.number(),
  firstExaminedSeconds: z.number(),
  firstTickSeconds: z.number(),
  anyAlertSeconds: z.number().optional(),
  freshAlertSeconds: z.number().optional(),
  caughtUpSeconds: z.number(),
  ticks: z.number(),
  maxDetectorTickSeconds: z.number(),
});

const results: Array<z.output<typeof roundResult> & { round: number }> = [];
for (let round = 1; round <= ROUNDS; round += 1) {
  // Alternate which variant goes first, so a load change on the machine hits both alike.
  const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
  for (const variant of order) {
    const output = execFileSync('npx', ['tsx', 'test/bench/rollups-behind-run.ts', variant, String(EVENTS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const result = roundResult.parse(JSON.parse(output.trim().split('\n').at(-1) ?? ''));
    results.push({ ...result, round });
    process.stderr.write(`round ${round} ${variant}: ${JSON.stringify(result)}\n`);
  }
}

const seconds = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));
console.log(`\n${EVENTS.toLocaleString('en')} requests behind, rollups not refreshed; seconds from the first tick's start\n`);
console.log('| variant | round | first detector tick done | first service tick done | first alert | fresh replay alerted | caught up | service ticks | longest detector tick |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.variant} | ${r.round} | ${seconds(r.firstExaminedSeconds)} | ${seconds(r.firstTickSeconds)} | ${seconds(r.anyAlertSeconds)} | ${seconds(r.freshAlertSeconds)} | ${seconds(r.caughtUpSeconds)} | ${r.ticks} | ${seconds(r.maxDetectorTickSeconds)} |`,
  );
}
