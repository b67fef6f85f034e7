-- A client's alerts, newest first, at most 100 (the alerts table is small: thousands of rows).
SELECT alert_id, finding, toString(severity) AS severity, toString(status) AS status, summary,
       toUnixTimestamp64Milli(first_seen) AS first_ms, toUnixTimestamp64Milli(last_seen) AS last_ms
FROM alerts FINAL
WHERE tenant = {tenant:String} AND client_id = {client:String}
ORDER BY last_seen DESC
LIMIT 100
