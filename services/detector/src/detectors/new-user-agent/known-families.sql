-- The user-agent families these clients ran, from the client_traits rollup: first and last
-- seen, a full user agent of each, and how often. A few week-rows per client and family.
SELECT tenant, client_id, toString(value) AS family, anyLast(example) AS example,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests
FROM client_traits
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND kind = 'user_agent_family'
GROUP BY tenant, client_id, value
