-- The event-time span of what arrived in an arrival window: a bulk import of weeks of history
-- is then examined one slice of event time at a time, like a backtest, not all at once.
SELECT count() AS arrived, toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
