-- Where a client's requests came from over the retention, from client_locations: per network
-- (ASN and country), first and last seen, requests and failures, newest first, at most 100.
SELECT asn, any(as_org) AS as_org, toString(country) AS country, any(hosting_provider) AS hosting_provider,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(client_locations.requests) AS requests, sumIf(client_locations.requests, outcome = 'failure') AS failures,
       uniqExact(network) AS networks
FROM client_locations
WHERE tenant = {tenant:String} AND client_id = {client:String}
GROUP BY asn, country
ORDER BY last_ms DESC
LIMIT 100
