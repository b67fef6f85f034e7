-- The current version of these alerts (FINAL: ReplacingMergeTree may still hold older ones).
SELECT *
FROM alerts FINAL
WHERE alert_id IN {ids:Array(String)}
