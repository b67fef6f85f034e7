-- The notifier's feed: current alert versions changed after a point in time that this sink
-- has not finished (no `completes` row for exactly that version), oldest change first.
-- Handled versions drop out here rather than in the caller, so a page is never full of them.
SELECT *
FROM alerts FINAL
WHERE updated_at > {since:DateTime64(3, 'UTC')}
  AND (alert_id, updated_at) NOT IN (
    SELECT alert_id, alert_version
    FROM notifications
    WHERE sink = {sink:String} AND completes AND alert_version > {since:DateTime64(3, 'UTC')}
  )
ORDER BY updated_at, alert_id
LIMIT {limit:UInt32}
