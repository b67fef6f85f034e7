-- The console's alert feed: the current version of each alert (FINAL), filtered, firing
-- first, then the most severe, then the most recent. An empty filter value matches everything.
-- The filter is repeated in finding-counts.sql: keep the two alike.
SELECT *
FROM alerts FINAL
WHERE ({status:String} = '' OR toString(status) = {status:String})
  AND ({severity:String} = '' OR toString(severity) = {severity:String})
  AND ({finding:String} = '' OR finding = {finding:String})
  AND ({tenant:String} = '' OR tenant = {tenant:String})
  AND ({client:String} = '' OR client_id = {client:String})
  AND ({owner:String} = '' OR owner = {owner:String})
ORDER BY status = 'firing' DESC, severity DESC, last_seen DESC, alert_id
LIMIT {limit:UInt32}
