-- Where a window holding more than the bound ends: the arrival time of its {nth:UInt64}-th
-- arrival (0-based), so (after, that time] holds at least nth + 1 requests and at most one
-- insert's more (the rows of one insert share their ingested_at). The detectors cut their
-- windows the same way (services/detector/src/arrival-cut.sql).
SELECT toUnixTimestamp64Milli(ingested_at) AS ingested_ms
FROM token_requests
WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
ORDER BY ingested_at
LIMIT 1 OFFSET {nth:UInt64}
