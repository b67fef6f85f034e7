-- Every credential of these clients from the client_credentials rollup (0012): first and last
-- use, count, networks and countries. One row per credential, the {per_client} most recently
-- used of each client, so a client with thousands of keys still costs a bounded read.
SELECT tenant, client_id, credential_source, credential, anyLast(auth_method) AS auth_method,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests,
       arraySort(groupUniqArrayMerge(32)(asns)) AS asns,
       arraySort(groupUniqArrayMerge(16)(countries)) AS countries
FROM client_credentials
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
GROUP BY tenant, client_id, credential_source, credential
ORDER BY last_ms DESC
LIMIT {per_client:UInt32} BY tenant, client_id
