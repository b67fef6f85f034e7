-- These clients' ASN slots from the client_asn_slots rollup, per day and credential, only those
-- between two absolute slots (5-minute steps since the epoch: the day's number times 288 plus
-- the slot of the day): the runs around a tick's requests, to find candidates. Whole days would
-- make this read grow with how busy a client is (up to 288 slots a day); these bounds keep it to
-- the new requests' neighbourhood.
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
