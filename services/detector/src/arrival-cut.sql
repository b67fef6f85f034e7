-- Where a window that holds more than max_window_events arrivals ends: the arrival time of its
-- {nth:UInt64}-th arrival (0-based), so the window (ingested_after, that time] holds at least
-- that many events and at most a batch more (the rows of one insert share their ingested_at).
SELECT toUnixTimestamp64Milli(ingested_at) AS ingested_ms
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
ORDER BY ingested_at
LIMIT 1 OFFSET {nth:UInt64}
