-- Clients that already have an unknown_client alert (firing or resolved): the finding is
-- raised once per client, so a shadow identity in daily use does not page every tick.
SELECT DISTINCT tenant, client_id
FROM alerts FINAL
WHERE finding = 'unknown_client' AND tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
