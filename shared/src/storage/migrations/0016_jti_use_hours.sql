-- jti_replay's look-up, time first: each client-assertion jti per hour of use, so a tick reads
-- only the hours in which an earlier use of one of its jtis can sit, not every jti of a week.
--
-- jti_uses (0004) is ordered by (tenant, assertion_jti): real jtis are random, so the 10,000
-- jtis of one tick touched nearly every granule of the weeks searched, and the look-up cost
-- grew with the events stored per week (docs/benchmarks.md, bench:detect). A replayed
-- assertion is the same assertion: every use of it carries its iat and exp and falls inside
-- its validity, so an earlier use sits in the hours between the iat and the use.
-- jti_replay's reused-jtis.sql builds (tenant, hour, jti) for those hours of each new jti and
-- reads only their granules; why the spans are what they are: index.ts and docs/detectors.md.
--
-- Replaces jti_uses_mv below: ingestion pays for one jti rollup, not two. jti_uses itself stays
-- (the cluster transform refuses DROP TABLE: cluster-ddl.ts), unfed, and its parts leave with
-- the retention TTL; nothing reads it any more.
CREATE TABLE IF NOT EXISTS jti_use_hours
(
    tenant        LowCardinality(String),
    hour          DateTime('UTC') COMMENT 'start of the hour of use',
    assertion_jti String,
    uses          AggregateFunction(uniq, String),
    clients       SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen    SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen     SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(hour)
ORDER BY (tenant, hour, assertion_jti)
TTL hour + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS jti_use_hours_mv TO jti_use_hours SQL SECURITY DEFINER AS
SELECT tenant, toStartOfHour(time) AS hour, assertion_jti, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != ''
GROUP BY tenant, hour, assertion_jti;

INSERT INTO jti_use_hours
SELECT tenant, toStartOfHour(time) AS hour, assertion_jti, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != ''
GROUP BY tenant, hour, assertion_jti;

ALTER TABLE jti_uses MODIFY COMMENT 'deprecated since migration 0016: no longer fed (jti_use_hours replaces it); its rows leave with the retention TTL';

DROP VIEW IF EXISTS jti_uses_mv;
