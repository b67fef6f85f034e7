-- Where these clients authenticated successfully (by any method), per day, from the
-- client_locations rollup: the history a new location is judged against.
SELECT tenant, client_id, credential_id, country, asn, network,
       any(as_org) AS as_org, any(hosting_provider) AS hosting_provider,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day >= {from:Date} AND day <= {to:Date}
  AND outcome = 'success'
GROUP BY tenant, client_id, day, credential_id, country, asn, network
