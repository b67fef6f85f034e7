-- A client's successful issuances and authentication failures per bucket in a span, from the
-- per-minute rollup (client_minute_counts): the two series mint_volume and invalid_client_burst
-- judge, counted as the detector's bucket-counts.sql counts them (failures: only the error
-- codes it counts). The reader bounds the span to three days: at most 864 rows.
SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32}))) * 1000 AS bucket_ms,
       sumIf(requests, outcome = 'success') AS successes,
       sumIf(requests, outcome = 'failure' AND error_code IN {failure_codes:Array(String)}) AS failures
FROM
(
    SELECT minute, outcome, error_code, uniqMerge(requests) AS requests
    FROM client_minute_counts
    WHERE tenant = {tenant:String} AND client_id = {client:String}
      AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}
    GROUP BY minute, outcome, error_code
)
GROUP BY bucket_ms
ORDER BY bucket_ms
LIMIT 1000
