-- Everything a watch caught on each of the given days (keys: '<watch_id>/<YYYY-MM-DD>'), up
-- to {until}: the alert for a watch and day counts the whole day, not one tick's share of it.
-- Reads one day of the watched clients only (the sort key leads with tenant, client_id).
SELECT w.watch_id AS watch_id, toString(toDate(r.time)) AS day, r.tenant AS tenant, r.client_id AS client_id,
       anyIf(r.client_name, r.client_name != '') AS client_name,
       toUnixTimestamp64Milli(min(r.time)) AS first_ms, toUnixTimestamp64Milli(max(r.time)) AS last_ms,
       uniqExact(r.event_id) AS requests,
       uniqExactIf(r.event_id, r.outcome = 'success') AS successes,
       groupUniqArrayIf(10)(substring(r.credential_id, 1, 500), r.credential_id != '') AS credentials,
       groupUniqArray(10)(replaceRegexpOne(toString(r.source_ip), '^::ffff:', '')) AS ips,
       groupUniqArrayIf(10)(r.country, r.country != '') AS countries,
       groupUniqArrayIf(5)(substring(r.user_agent, 1, 500), r.user_agent != '') AS user_agents,
       groupUniqArrayIf(5)(substring(r.error_code, 1, 500), r.error_code != '') AS error_codes,
       groupArray(100)(r.event_id) AS event_ids
FROM token_requests AS r
INNER JOIN (SELECT watch_id, tenant, client_id, credential_id, since, until FROM watch_list FINAL WHERE watch_id IN {watch_ids:Array(String)}) AS w
    ON r.tenant = w.tenant AND r.client_id = w.client_id
WHERE r.time >= {day_from:DateTime64(3, 'UTC')} AND r.time < {day_to:DateTime64(3, 'UTC')} AND r.time < {until:DateTime64(3, 'UTC')}
  AND (r.tenant, r.client_id) IN (SELECT tenant, client_id FROM watch_list FINAL WHERE watch_id IN {watch_ids:Array(String)})
  AND r.time >= w.since AND (w.until IS NULL OR r.time < w.until)
  AND (w.credential_id = '' OR r.credential_id = w.credential_id)
  AND concat(w.watch_id, '/', toString(toDate(r.time))) IN {keys:Array(String)}
GROUP BY watch_id, day, tenant, client_id
