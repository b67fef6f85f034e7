-- How many requests arrived in (after, until]: a window holding more is cut (arrival-cut.sql).
SELECT count() AS arrived
FROM token_requests
WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
