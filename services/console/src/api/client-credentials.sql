-- A client's credentials and auth methods over the retention, from the per-day location
-- rollup (client_locations, 0004): first and last use, requests, failures, the networks each
-- was used from. One row per (auth method, credential), at most 100.
SELECT toString(auth_method) AS auth_method, toString(credential_id) AS credential_id,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(client_locations.requests) AS requests, sumIf(client_locations.requests, outcome = 'failure') AS failures,
       arraySort(groupUniqArray(20)(asn)) AS asns
FROM client_locations
WHERE tenant = {tenant:String} AND client_id = {client:String}
GROUP BY auth_method, credential_id
ORDER BY last_ms DESC
LIMIT 100
