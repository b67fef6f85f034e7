-- Alerts per finding under the feed's filter (alerts-feed.sql), all of them, not only the
-- page shown: the counts row above the feed.
SELECT finding, count() AS alerts, countIf(status = 'firing') AS firing
FROM alerts FINAL
WHERE ({status:String} = '' OR toString(status) = {status:String})
  AND ({severity:String} = '' OR toString(severity) = {severity:String})
  AND ({finding:String} = '' OR finding = {finding:String})
  AND ({tenant:String} = '' OR tenant = {tenant:String})
  AND ({client:String} = '' OR client_id = {client:String})
  AND ({owner:String} = '' OR owner = {owner:String})
GROUP BY finding
ORDER BY alerts DESC, finding
LIMIT 1000
