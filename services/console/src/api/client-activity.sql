-- A client's token requests per hour and outcome around an alert, from the per-minute rollup
-- (client_minute_counts, 0004_rollups.sql): at most a few hundred rows, never token_requests.
-- uniqMerge over the hour's minute states counts each event once, as the detectors do.
SELECT toUnixTimestamp(toStartOfHour(minute)) * 1000 AS hour, toString(outcome) AS outcome, uniqMerge(requests) AS requests
FROM client_minute_counts
WHERE tenant = {tenant:String} AND client_id = {client:String}
  AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}
GROUP BY hour, outcome
ORDER BY hour, outcome
