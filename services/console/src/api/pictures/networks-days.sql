-- A client's networks (ASN and country) with their requests per day of [from, to), from the
-- per-day location rollup (client_locations): first and last seen over the whole retention,
-- so a network that is old but quiet lately does not look new. Only networks used in the span;
-- the marked ones first, then the most recent. At most 41 rows: the reader shows 40 and says it cut.
SELECT asn, toString(country) AS country, anyLast(as_org) AS as_org, anyLast(hosting_provider) AS hosting_provider,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sumIf(client_locations.requests, day >= {from:Date}) AS requests,
       sumMapIf([toUInt32(dateDiff('day', {from:Date}, day))], [toUInt64(client_locations.requests)], day >= {from:Date}) AS per_day,
       has({marked:Array(String)}, concat(toString(asn), '|', toString(country))) AS marked
FROM client_locations
WHERE tenant = {tenant:String} AND client_id = {client:String} AND day < {to:Date}
GROUP BY asn, country
HAVING max(day) >= {from:Date}
ORDER BY marked DESC, last_ms DESC, requests DESC
LIMIT 41
