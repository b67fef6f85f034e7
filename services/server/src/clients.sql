-- `tokenwatch clients`: every client the logs prove, from the rollups (0004), never from
-- token_requests: `clients` gives first and last request and the name, one row per client;
-- client_locations (per client per day, kept TOKENWATCH_RETENTION_DAYS) gives the auth
-- methods, credentials and networks. A page of clients in (tenant, client_id) order after
-- a cursor, with each list capped, so the result is bounded whatever the history.
WITH page AS
(
    SELECT tenant, client_id, anyLast(client_name) AS name,
           min(first_seen) AS first_request, max(last_seen) AS last_request
    FROM clients
    WHERE ({tenant:String} = '' OR tenant = {tenant:String})
      AND (tenant, client_id) > ({after_tenant:String}, {after_client:String})
    GROUP BY tenant, client_id
    ORDER BY tenant, client_id
    LIMIT {limit:UInt32}
)
SELECT page.tenant AS tenant, page.client_id AS client_id, page.name AS client_name,
       toUnixTimestamp64Milli(page.first_request) AS first_ms, toUnixTimestamp64Milli(page.last_request) AS last_ms,
       used.total AS requests, used.failures AS failed,
       used.methods AS auth_methods, used.credentials AS credential_ids,
       used.network_total AS network_count, used.network_list AS networks, used.country_list AS countries
FROM page
LEFT JOIN
(
    SELECT tenant, client_id,
           sum(requests) AS total,
           sumIf(requests, outcome = 'failure') AS failures,
           arraySort(groupUniqArray(10)(toString(auth_method))) AS methods,
           arraySort(groupUniqArrayIf(20)(toString(credential_id), credential_id != '')) AS credentials,
           uniqExact(network) AS network_total,
           arraySort(groupUniqArray(20)(toString(network))) AS network_list,
           arraySort(groupUniqArrayIf(20)(toString(country), country != '')) AS country_list
    FROM client_locations
    WHERE (tenant, client_id) IN (SELECT tenant, client_id FROM page)
    GROUP BY tenant, client_id
) AS used ON used.tenant = page.tenant AND used.client_id = page.client_id
ORDER BY tenant, client_id
