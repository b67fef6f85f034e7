-- These clients' ASN slots per day and credential from the client_asn_slots rollup, between
-- two days: the candidates' days since their checkpoint, or their whole retained history when
-- they have none (scan-cache.ts). The ORDER BY key starts (tenant, client_id, day): a range read.
SELECT tenant, client_id, day, credential, asn,
       groupUniqArrayArray(slots) AS slots, anyLast(as_org) AS as_org, anyLast(country) AS country,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_asn_slots
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day >= {from:Date} AND day <= {to:Date}
GROUP BY tenant, client_id, day, credential, asn
