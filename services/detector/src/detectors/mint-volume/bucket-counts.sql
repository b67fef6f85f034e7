-- Successful issuances and authentication failures per client and bucket, from the per-minute
-- rollup (never from token_requests): the observed counts and the baseline series alike.
SELECT tenant, client_id,
       toUnixTimestamp(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32}))) * 1000 AS bucket_ms,
       sumIf(requests, outcome = 'success') AS successes,
       sumIf(requests, outcome = 'failure' AND error_code IN {failure_codes:Array(String)}) AS auth_failures
FROM
(
    SELECT tenant, client_id, minute, outcome, error_code, uniqMerge(requests) AS requests
    FROM client_minute_counts
    WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
      AND minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}
    GROUP BY tenant, client_id, minute, outcome, error_code
)
GROUP BY tenant, client_id, bucket_ms
