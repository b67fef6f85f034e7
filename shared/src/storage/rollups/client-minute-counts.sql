-- client_minute_counts (0004) from the requests that arrived in one window; the SELECT is
-- client_minute_counts_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO client_minute_counts SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id, toStartOfMinute(time) AS minute, outcome, error_code, uniqState(event_id) AS requests
FROM token_requests
WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, minute, outcome, error_code
