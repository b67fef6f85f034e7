-- When each client was first seen: cold start and learning periods.
SELECT tenant, client_id, any(client_name) AS client_name, toUnixTimestamp64Milli(min(first_seen)) AS first_seen_ms
FROM clients
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
GROUP BY tenant, client_id
