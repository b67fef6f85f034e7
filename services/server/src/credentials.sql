-- `tokenwatch credentials`: every credential of every client, from the client_credentials
-- rollup (0012), never from token_requests: one row per client and credential with its first
-- and last use, count, networks (ASNs) and countries, each list capped by the rollup. Ordered
-- by client, oldest credential first, and cut at {limit}, so the result is bounded whatever
-- the history.
SELECT tenant, client_id, credential_source, credential, anyLast(auth_method) AS auth_method,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sum(requests) AS requests,
       arraySort(groupUniqArrayMerge(32)(asns)) AS asns,
       arraySort(groupUniqArrayMerge(16)(countries)) AS countries
FROM client_credentials
WHERE ({tenant:String} = '' OR tenant = {tenant:String})
  AND ({client:String} = '' OR client_id = {client:String})
GROUP BY tenant, client_id, credential_source, credential
ORDER BY tenant, client_id, first_ms, credential_source, credential
LIMIT {limit:UInt32}
