-- Which ASNs each client, and each of its credentials, minted tokens from in every 5-minute
-- slot of every day: concurrent_networks asks "the most distinct ASNs this client (or this
-- credential) ever used inside one window" of this rollup instead of the history. One row per
-- client, credential, day and ASN holds the day's slots (0..287) in which that ASN got a token,
-- so a client's whole history is about retention_days x its ASNs x its credentials rows, each
-- at most 288 slots, and the detector slides its window over the slots (any window, any
-- alignment: docs/detectors.md). Successful requests from a known network only (asn 0 is
-- "unknown", not a network). credential: the IdP's credential id, else the assertion's kid.
-- The slot length (5 minutes) is SLOT_MINUTES in services/detector/src/detectors/concurrent-networks/slots.ts.
CREATE TABLE IF NOT EXISTS client_asn_slots
(
    tenant     LowCardinality(String),
    client_id  LowCardinality(String),
    day        Date,
    credential LowCardinality(String),
    asn        UInt32,
    slots      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt16)) COMMENT '5-minute slots of the day (0..287) with a successful request',
    as_org     SimpleAggregateFunction(anyLast, LowCardinality(String)),
    country    SimpleAggregateFunction(anyLast, LowCardinality(String)),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen  SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    requests   SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(day)
ORDER BY (tenant, client_id, day, credential, asn)
TTL day + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS client_asn_slots_mv TO client_asn_slots SQL SECURITY DEFINER AS
SELECT tenant, client_id, toDate(time) AS day, if(credential_id != '', credential_id, assertion_kid) AS credential, asn,
       groupUniqArray(toUInt16(intDiv(toHour(time) * 60 + toMinute(time), 5))) AS slots,
       anyLast(as_org) AS as_org, anyLast(country) AS country,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
WHERE outcome = 'success' AND asn != 0
GROUP BY tenant, client_id, day, credential, asn;

INSERT INTO client_asn_slots
SELECT tenant, client_id, toDate(time) AS day, if(credential_id != '', credential_id, assertion_kid) AS credential, asn,
       groupUniqArray(toUInt16(intDiv(toHour(time) * 60 + toMinute(time), 5))) AS slots,
       anyLast(as_org) AS as_org, anyLast(country) AS country,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests FINAL
WHERE outcome = 'success' AND asn != 0
GROUP BY tenant, client_id, day, credential, asn;
