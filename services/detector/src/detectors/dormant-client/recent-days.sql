-- The days these clients got tokens in the last dormant_days, from the client_locations
-- rollup: a client with any such day before its request in the window was not asleep. Reads
-- at most dormant_days + 2 day-rows per client and location, never token_requests.
SELECT tenant, client_id, day,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day >= {from:Date} AND day <= {to:Date}
  AND outcome = 'success'
GROUP BY tenant, client_id, day
