-- Failed requests of these clients per minute around their new software's first use, from the
-- client_minute_counts rollup (minutes, never token_requests).
SELECT tenant, client_id, toUnixTimestamp(minute) * 1000 AS minute_ms, uniqMerge(requests) AS failures
FROM client_minute_counts
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND minute >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND minute <= {to:DateTime64(3, 'UTC')}
  AND outcome = 'failure'
GROUP BY tenant, client_id, minute
