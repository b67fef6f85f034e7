-- These clients' credential uses per day and network from the credential_days rollup (0012),
-- for the days around new credentials' first uses: the new credential's first uses and what
-- the client's other credentials did at the same time. A few clients per tick, a few days each.
SELECT tenant, client_id, day, credential_source, credential, asn, country, any(as_org) AS as_org,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests, groupUniqArrayMerge(5)(ips) AS ips
FROM credential_days
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day >= {from:Date} AND day <= {to:Date}
GROUP BY tenant, client_id, day, credential_source, credential, asn, country
