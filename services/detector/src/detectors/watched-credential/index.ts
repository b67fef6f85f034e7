import { z } from 'zod';
import { queryRows, sql } from '@tokenwatch/shared/storage/sql';
import { toClickHouseTime } from '@tokenwatch/shared/storage/time';
import type { AlertDraft } from '@tokenwatch/shared/alerts/alert';
import { DAY_MS } from '@tokenwatch/shared/time';
import { windowParams, type Detector } from '../../detector.js';
import { readWatches, type Watch } from '../../watch/watch-list.js';
import { WATCHED_CREDENTIAL } from './findings.js';
import { requestSpanColumns } from '../../clients.js';

const WATCHED_DAYS = sql(import.meta.url, './watched-days.sql');
const WATCHED_REQUESTS = sql(import.meta.url, './watched-requests.sql');

const dayRow = z.object({ watch_id: z.string(), day: z.iso.date() });
const requestsRow = z.object({
  watch_id: z.string(),
  day: z.iso.date(),
  tenant: z.string(),
  client_id: z.string(),
  client_name: z.string(),
  ...requestSpanColumns,
  successes: z.coerce.number(),
  credentials: z.array(z.string()),
  ips: z.array(z.string()),
  countries: z.array(z.string()),
  user_agents: z.array(z.string()),
  error_codes: z.array(z.string()),
  event_ids: z.array(z.string()),
});
type Caught = z.output<typeof requestsRow>;

/**
 * watched_credential: every request, success or failure, from a client or credential on the
 * watch list (`tokenwatch watch add`) in the watch's [since, until) is a critical alert. The
 * operator has already judged the credential compromised, so there is nothing to learn and no
 * threshold: one request is enough. There is no setting to switch it off; a watch ends with
 * `tokenwatch watch remove` or its --until.
 *
 * One alert per watch and UTC day. A tick finds which watches and days its new rows fall
 * under (reading only the watched clients' new rows), then counts each such day whole, so the
 * alert's count is the day's, not the last tick's share of it. A backtest sees the watches as
 * they are now, so a watch added with a past --since finds what already happened.
 */
export const watchedCredential: Detector = {
  name: 'watched_credential',
  findings: [WATCHED_CREDENTIAL],
  enabled: () => true,
  async detect({ clickhouse }, window) {
    const days = await queryRows(clickhouse, WATCHED_DAYS, windowParams(window), dayRow);
    if (days.length === 0) return [];
    const dayStarts = days.map((row) => Date.parse(`${row.day}T00:00:00Z`));
    const watchIds = [...new Set(days.map((row) => row.watch_id))];
    const caught = await queryRows(
      clickhouse,
      WATCHED_REQUESTS,
      {
        watch_ids: watchIds,
        keys: days.map((row) => `${row.watch_id}/${row.day}`),
        day_from: toClickHouseTime(Math.min(...dayStarts)),
        day_to: toClickHouseTime(Math.max(...dayStarts) + DAY_MS),
        // A backtest counts up to the end of its slice; a live tick up to the window's end.
        until: toClickHouseTime(Math.max(window.timeTo, window.now) + 1),
      },
      requestsRow,
    );
    const watches = new Map((await readWatches(clickhouse)).map((watch) => [watch.watch_id, watch]));
    return caught.flatMap((row) => {
      const watch = watches.get(row.watch_id);
      return watch ? [draft(row, watch)] : [];
    });
  },
};

function draft(row: Caught, watch: Watch): AlertDraft {
  const failures = row.requests - row.successes;
  const who = watch.credential_id ? `credential ${watch.credential_id} of client ${row.client_id}` : `client ${row.client_id}`;
  const from = row.ips.slice(0, 3).join(', ');
  return WATCHED_CREDENTIAL.draft({
    severity: 'critical',
    tenant: row.tenant,
    client_id: row.client_id,
    client_name: row.client_name,
    alert_key: `watch:${watch.watch_id}`,
    window_start: Date.parse(`${row.day}T00:00:00Z`),
    first_seen: row.first_ms,
    last_seen: row.last_ms,
    event_count: row.requests,
    summary:
      `${who} is on the watch list (${watch.reason}) and requested tokens ${row.requests} time${row.requests === 1 ? '' : 's'} on ${row.day}` +
      ` (${row.successes} succeeded, ${failures} failed)${from ? ` from ${from}` : ''}.`,
    evidence: {
      watch: {
        watch_id: watch.watch_id,
        credential_id: watch.credential_id,
        reason: watch.reason,
        added_by: watch.added_by,
        added_at: new Date(watch.added_at).toISOString(),
        since: new Date(watch.since).toISOString(),
        until: watch.until === null ? null : new Date(watch.until).toISOString(),
      },
      day: row.day,
      requests: row.requests,
      successes: row.successes,
      failures,
      credentials: row.credentials,
      source_ips: row.ips,
      countries: row.countries,
      user_agents: row.user_agents,
      error_codes: row.error_codes,
    },
    event_ids: row.event_ids,
  });
}
