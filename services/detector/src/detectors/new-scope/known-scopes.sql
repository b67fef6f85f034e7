-- Every scope and audience these clients were granted, from the client_traits rollup: when
-- first and last, and how often. Reads a few week-rows per client and value (the ORDER BY key
-- starts (tenant, client_id, kind)), never token_requests, however long the history.
SELECT tenant, client_id, toString(kind) AS kind, toString(value) AS value,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_traits
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND kind IN ('scope', 'audience')
GROUP BY tenant, client_id, kind, value
