-- These clients' ASN slots per day and credential from the client_asn_slots rollup, between two
-- absolute slots (5-minute steps since the epoch: the day's number times 288 plus the slot of
-- the day). Two readers: the runs around a tick's requests, to find candidates (whole days would
-- make that read grow with how busy a client is, up to 288 slots a day), and the candidates'
-- days since their checkpoint, or their whole retained history when they have none
-- (scan-cache.ts), as whole days. The ORDER BY key starts (tenant, client_id, day): a range read.
SELECT tenant, client_id, day, credential, asn, slots, as_org, country, first_ms, last_ms, requests
FROM
(
    SELECT tenant, client_id, day, credential, asn,
           arrayFilter(slot -> toUInt32(day) * 288 + slot BETWEEN {first_slot:UInt32} AND {last_slot:UInt32}, groupUniqArrayArray(slots)) AS slots,
           anyLast(as_org) AS as_org, anyLast(country) AS country,
           toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
           sum(requests) AS requests
    FROM client_asn_slots
    WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
      AND day >= {from:Date} AND day <= {to:Date}
    GROUP BY tenant, client_id, day, credential, asn
)
WHERE notEmpty(slots)
