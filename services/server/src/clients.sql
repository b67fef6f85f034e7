-- `tokenwatch clients`: every client the logs prove, from the rollups (0004), never from
-- token_requests: `clients` gives first and last request and the name, one row per client;
-- client_locations (per client per day, kept TOKENWATCH_RETENTION_DAYS) gives the auth
-- methods, credentials and networks. A page of clients in (tenant, client_id) order after
-- a cursor, with each list capped, so the result is bounded whatever the history.
WITH page AS
(
    SELECT tenant, client_id, anyLast(client_name) AS client_name,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM clients
    WHERE ({tenant:String} = '' OR tenant = {tenant:String})
      AND (tenant, client_id) > ({after_tenant:String}, {after_client:String})
    GROUP BY tenant, client_id
    ORDER BY tenant, client_id
    LIMIT {limit:UInt32}
)
SELECT page.tenant AS tenant, page.client_id AS client_id, page.client_name AS client_name,
       toUnixTimestamp64Milli(page.first_seen) AS first_ms, toUnixTimestamp64Milli(page.last_seen) AS last_ms,
       used.requests AS requests, used.failed AS failed,
       used.auth_methods AS auth_methods, used.credential_ids AS credential_ids,
       used.network_count AS network_count, used.networks AS networks, used.countries AS countries
FROM page
LEFT JOIN
(
    SELECT tenant, client_id,
           sum(requests) AS requests,
           sumIf(requests, outcome = 'failure') AS failed,
           arraySort(groupUniqArray(10)(toString(auth_method))) AS auth_methods,
           arraySort(groupUniqArrayIf(20)(toString(credential_id), credential_id != '')) AS credential_ids,
           uniqExact(network) AS network_count,
           arraySort(groupUniqArray(20)(toString(network))) AS networks,
           arraySort(groupUniqArrayIf(20)(toString(country), country != '')) AS countries
    FROM client_locations
    WHERE (tenant, client_id) IN (SELECT tenant, client_id FROM page)
    GROUP BY tenant, client_id
) AS used ON used.tenant = page.tenant AND used.client_id = page.client_id
ORDER BY tenant, client_id
