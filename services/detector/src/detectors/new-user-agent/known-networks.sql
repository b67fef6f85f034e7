-- Where the clients with new software got tokens before, per ASN and country, from the
-- client_locations rollup (few clients per tick: only those with a new family).
SELECT tenant, client_id, asn, any(as_org) AS as_org, country,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day <= {to:Date}
  AND outcome = 'success'
GROUP BY tenant, client_id, asn, country
