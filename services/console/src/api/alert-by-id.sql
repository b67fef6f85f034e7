-- One alert's current version.
SELECT *
FROM alerts FINAL
WHERE alert_id = {id:String}
