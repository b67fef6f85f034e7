-- Alerts changed after a point in time, oldest change first: the notifier's feed and
-- `tokenwatch alerts --since`. The minmax index on updated_at skips older parts.
SELECT *
FROM alerts FINAL
WHERE updated_at > {since:DateTime64(3, 'UTC')}
ORDER BY updated_at, alert_id
LIMIT {limit:UInt32}
