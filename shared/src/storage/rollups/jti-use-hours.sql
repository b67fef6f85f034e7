-- jti_use_hours (0016) from the requests that arrived in one window; the SELECT is
-- jti_use_hours_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO jti_use_hours SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, toStartOfHour(time) AS hour, assertion_jti, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != '' AND ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, hour, assertion_jti
