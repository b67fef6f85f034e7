-- Where the fresh look of a tick that is behind starts (engine.ts, freshLookStart): the arrival
-- time of the {nth:UInt64}-th newest arrival (0-based), so the window (that time,
-- ingested_until] holds at most nth arrivals: the newest ones, whatever the backlog before them.
SELECT toUnixTimestamp64Milli(ingested_at) AS ingested_ms
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
ORDER BY ingested_at DESC
LIMIT 1 OFFSET {nth:UInt64}
