-- What each client was granted and ran, per week, from its successful requests: every scope,
-- every audience / resource and every user-agent family, with first and last request time
-- and a count. new_scope and new_user_agent ask "did this client ever get this scope / run
-- this software before this request": a few week-rows per client and value answer it without
-- reading requests, however long the history.
--
-- The user-agent family is the product name without its version: the first
-- whitespace-separated token of the user agent, cut at its first '/', ASCII-lowercased, at most
-- 128 characters ('okhttp/4.9.3' and 'okhttp/4.12.0' -> 'okhttp', 'aws-sdk-java/2.20 Linux/5.10'
-- -> 'aws-sdk-java', 'billing-sync/1.4.2 okhttp/4.12.0' -> 'billing-sync'). No regular
-- expression: splits and a cut, linear in the text. shared/src/user-agent-family.ts is the
-- same rule in TypeScript (the detector's window and the simulator), and
-- test/integration/detect-new-user-agent.test.ts checks the two agree on real user agents.
CREATE TABLE IF NOT EXISTS client_traits
(
    tenant     LowCardinality(String),
    client_id  LowCardinality(String),
    kind       Enum8('scope' = 1, 'audience' = 2, 'user_agent_family' = 3),
    value      LowCardinality(String),
    week       Date COMMENT 'Monday of the requests: partitions and TTL',
    -- For user_agent_family: one full user agent of the family (evidence), else ''.
    example    SimpleAggregateFunction(anyLast, String),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen  SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    requests   SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY week
ORDER BY (tenant, client_id, kind, value, week)
TTL week + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS client_traits_mv TO client_traits SQL SECURITY DEFINER AS
SELECT tenant, client_id, trait.1 AS kind, trait.2 AS value, toMonday(time) AS week,
       anyLast(if(trait.1 = 'user_agent_family', toString(user_agent), '')) AS example,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
ARRAY JOIN arrayConcat(
    arrayMap(scope -> tuple('scope', toString(scope)), scopes),
    if(audience != '', [tuple('audience', toString(audience))], []),
    if((lower(substringUTF8(splitByChar('/', splitByWhitespace(toString(user_agent))[1])[1], 1, 128)) AS family) != '',
       [tuple('user_agent_family', family)], [])
) AS trait
WHERE outcome = 'success'
GROUP BY tenant, client_id, kind, value, week;

INSERT INTO client_traits
SELECT tenant, client_id, trait.1 AS kind, trait.2 AS value, toMonday(time) AS week,
       anyLast(if(trait.1 = 'user_agent_family', toString(user_agent), '')) AS example,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests FINAL
ARRAY JOIN arrayConcat(
    arrayMap(scope -> tuple('scope', toString(scope)), scopes),
    if(audience != '', [tuple('audience', toString(audience))], []),
    if((lower(substringUTF8(splitByChar('/', splitByWhitespace(toString(user_agent))[1])[1], 1, 128)) AS family) != '',
       [tuple('user_agent_family', family)], [])
) AS trait
WHERE outcome = 'success'
GROUP BY tenant, client_id, kind, value, week;
