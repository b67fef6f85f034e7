-- clients (0004) from the requests that arrived in one window; the SELECT is clients_mv's as
-- it was. Why the SETTINGS: refresh.ts.
INSERT INTO clients SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id, anyLastIf(client_name, client_name != '') AS client_name, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id
