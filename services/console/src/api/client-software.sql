-- A client's scopes and client software in a span (the page asks for 30 days), from
-- token_requests by the primary key's (tenant, client_id, time) prefix: it reads that client's
-- rows of the span, no other client's. Each kind at most 50 values, most used first.
SELECT 'scope' AS kind, scope AS value, uniqExact(event_id) AS requests,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms
FROM token_requests
ARRAY JOIN scopes AS scope
WHERE tenant = {tenant:String} AND client_id = {client:String} AND time >= {from:DateTime64(3, 'UTC')}
GROUP BY value
ORDER BY requests DESC
LIMIT 50
UNION ALL
SELECT 'user_agent' AS kind, toString(user_agent) AS value, uniqExact(event_id) AS requests,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms
FROM token_requests
WHERE tenant = {tenant:String} AND client_id = {client:String} AND time >= {from:DateTime64(3, 'UTC')}
GROUP BY value
ORDER BY requests DESC
LIMIT 50
