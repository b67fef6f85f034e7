-- Firing (or acknowledged: on-call knows, but it still ends) alerts of one finding that have
-- been quiet since before a point in time.
SELECT *
FROM alerts FINAL
WHERE finding = {finding:String} AND status IN ('firing', 'acknowledged') AND last_seen < {before:DateTime64(3, 'UTC')}
