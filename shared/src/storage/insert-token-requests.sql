-- The token makes a retried insert of the same batch a no-op (see 0001_token_requests.sql).
INSERT INTO token_requests
SETTINGS insert_deduplication_token = {dedup_token:String}
FORMAT JSONEachRow
