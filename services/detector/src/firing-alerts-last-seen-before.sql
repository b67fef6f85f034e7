-- Firing alerts of one detector that have been quiet since before a point in time.
SELECT *
FROM alerts FINAL
WHERE detector = {detector:String} AND status = 'firing' AND last_seen < {before:DateTime64(3, 'UTC')}
