-- Everything the rollup remembers of clients that slept (few per tick): per day, network and
-- credential, the longest gap, where the client used to come from and with which credential.
SELECT tenant, client_id, day, asn, any(as_org) AS as_org, country, credential_id,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day <= {to:Date}
  AND outcome = 'success'
GROUP BY tenant, client_id, day, asn, country, credential_id
