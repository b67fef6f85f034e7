-- Per-client rollups that keep a detector tick O(new data): baselines and "seen before"
-- questions read these small tables instead of scanning token_requests history. Each is fed
-- by a materialized view on token_requests (so every writer feeds them) and back-filled once
-- from what is already stored.

-- Token requests per client per minute, by outcome and error code (mint_volume's baseline).
-- uniq(event_id), not count(): an event re-sent to Kafka is stored twice until
-- ReplacingMergeTree merges, and must not count twice. uniq is exact below 65,536 distinct
-- ids per state, far above a machine client's per-minute volume.
CREATE TABLE IF NOT EXISTS client_minute_counts
(
    tenant     LowCardinality(String),
    client_id  LowCardinality(String),
    minute     DateTime('UTC') CODEC(Delta(4), ZSTD(1)),
    outcome    Enum8('success' = 1, 'failure' = 2),
    error_code LowCardinality(String),
    requests   AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(minute)
ORDER BY (tenant, client_id, minute, outcome, error_code)
TTL minute + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS client_minute_counts_mv TO client_minute_counts SQL SECURITY DEFINER AS
SELECT tenant, client_id, toStartOfMinute(time) AS minute, outcome, error_code, uniqState(event_id) AS requests
FROM token_requests
GROUP BY tenant, client_id, minute, outcome, error_code;

INSERT INTO client_minute_counts
SELECT tenant, client_id, toStartOfMinute(time) AS minute, outcome, error_code, uniqState(event_id) AS requests
FROM token_requests
GROUP BY tenant, client_id, minute, outcome, error_code;

-- Where each client (and each of its credentials) authenticated from, per day: country, ASN
-- and network (/24 for IPv4, /48 for IPv6), with first and last request time and a count.
-- secret_new_location asks "was this location seen for this client in the lookback before
-- this request": one day-row per client and location answers it without reading requests.
CREATE TABLE IF NOT EXISTS client_locations
(
    tenant           LowCardinality(String),
    client_id        LowCardinality(String),
    day              Date,
    auth_method      LowCardinality(String),
    credential_id    LowCardinality(String),
    outcome          Enum8('success' = 1, 'failure' = 2),
    country          LowCardinality(String),
    asn              UInt32,
    network          LowCardinality(String),
    as_org           SimpleAggregateFunction(anyLast, LowCardinality(String)),
    hosting_provider SimpleAggregateFunction(anyLast, LowCardinality(String)),
    first_seen       SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen        SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    requests         SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(day)
ORDER BY (tenant, client_id, day, auth_method, credential_id, outcome, country, asn, network)
TTL day + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS client_locations_mv TO client_locations SQL SECURITY DEFINER AS
SELECT
    tenant, client_id, toDate(time) AS day, auth_method, credential_id, outcome, country, asn,
    -- cutIPv6 zeroes the host part: 1 byte of an IPv4 (-> /24), 10 bytes of an IPv6 (-> /48).
    if(startsWith(cutIPv6(source_ip, 10, 1) AS cut, '::ffff:'),
       concat(substring(cut, 8), '/24'), concat(cut, '/48')) AS network,
    anyLast(as_org) AS as_org, anyLast(hosting_provider) AS hosting_provider,
    min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
GROUP BY tenant, client_id, day, auth_method, credential_id, outcome, country, asn, network;

INSERT INTO client_locations
SELECT
    tenant, client_id, toDate(time) AS day, auth_method, credential_id, outcome, country, asn,
    if(startsWith(cutIPv6(source_ip, 10, 1) AS cut, '::ffff:'),
       concat(substring(cut, 8), '/24'), concat(cut, '/48')) AS network,
    anyLast(as_org) AS as_org, anyLast(hosting_provider) AS hosting_provider,
    min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests FINAL
GROUP BY tenant, client_id, day, auth_method, credential_id, outcome, country, asn, network;

-- Each client-assertion jti: how many distinct requests used it and by which clients. A tick
-- looks up the jtis of its new events here by primary key, and reads the requests behind a
-- jti from token_requests only when it was used twice or by two clients. Requests without a
-- jti are not rolled up.
CREATE TABLE IF NOT EXISTS jti_uses
(
    tenant        LowCardinality(String),
    assertion_jti String,
    week          Date COMMENT 'Monday of the first use in the inserted block: partitions and TTL',
    uses          AggregateFunction(uniq, String),
    clients       SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen    SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen     SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY week
ORDER BY (tenant, assertion_jti)
TTL week + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS jti_uses_mv TO jti_uses SQL SECURITY DEFINER AS
SELECT tenant, assertion_jti, toMonday(min(time)) AS week, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != ''
GROUP BY tenant, assertion_jti;

INSERT INTO jti_uses
SELECT tenant, assertion_jti, toMonday(min(time)) AS week, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != ''
GROUP BY tenant, assertion_jti;

-- One row per client: when tokenwatch first and last saw it and its latest display name.
-- Learning periods and cold starts ("under 24 hours of history") read this.
CREATE TABLE IF NOT EXISTS clients
(
    tenant      LowCardinality(String),
    client_id   LowCardinality(String),
    client_name SimpleAggregateFunction(anyLast, LowCardinality(String)),
    first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, client_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS clients_mv TO clients SQL SECURITY DEFINER AS
SELECT tenant, client_id, anyLastIf(client_name, client_name != '') AS client_name, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
GROUP BY tenant, client_id;

INSERT INTO clients
SELECT tenant, client_id, anyLastIf(client_name, client_name != '') AS client_name, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
GROUP BY tenant, client_id;
