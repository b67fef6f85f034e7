-- Where these clients authenticated successfully (by any method), per day, from the
-- client_locations rollup: the history a new location is judged against. The days read are
-- each client's own last {active_days} days with a success up to {to}, not the last days of
-- the calendar, so a monthly job's usual place is still known after a 31-day silence. The
-- ORDER BY key starts (tenant, client_id, day), so both reads are range reads of these clients,
-- and the TTL (retention_days) bounds how far back the day list can reach.
SELECT tenant, client_id, credential_id, country, asn, network,
       any(as_org) AS as_org, any(hosting_provider) AS hosting_provider,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day <= {to:Date}
  AND outcome = 'success'
  AND (tenant, client_id, day) IN (
    SELECT tenant, client_id, day
    FROM client_locations
    WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
      AND day <= {to:Date}
      AND outcome = 'success'
    GROUP BY tenant, client_id, day
    ORDER BY day DESC
    LIMIT {active_days:UInt32} BY tenant, client_id
  )
GROUP BY tenant, client_id, day, credential_id, country, asn, network
