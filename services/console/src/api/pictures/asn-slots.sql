-- A client's ASNs in each 5-minute slot (0..287) of one day, from client_asn_slots (0013):
-- what concurrent_networks slides its window over. The marked ASNs first, then the busiest.
-- At most 41 rows: the reader shows 40 and says it cut.
SELECT asn, anyLast(country) AS country, anyLast(as_org) AS as_org,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(client_asn_slots.requests) AS requests, arraySort(groupUniqArrayArray(client_asn_slots.slots)) AS slots,
       has({marked:Array(UInt32)}, asn) AS marked
FROM client_asn_slots
WHERE tenant = {tenant:String} AND client_id = {client:String} AND day = {day:Date}
GROUP BY asn
ORDER BY marked DESC, requests DESC
LIMIT 41
