-- A client's credentials (the IdP's credential id, else the assertion's key id): first and last
-- successful use over all time from client_credentials (0012, no TTL: a stale credential's first
-- use may be older than any retention), and successful requests per day of [from, to) from
-- credential_days. The marked first, then the most recent. At most 41 rows: the reader shows
-- 40 and says it cut.
SELECT c.credential AS credential, c.credential_source AS credential_source, c.auth_method AS auth_method,
       c.first_ms AS first_ms, c.last_ms AS last_ms, c.requests AS requests, d.per_day AS per_day,
       has({marked:Array(String)}, c.credential) AS marked
FROM
(
    SELECT toString(credential_source) AS credential_source, credential, toString(anyLast(auth_method)) AS auth_method,
           toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
           sum(client_credentials.requests) AS requests
    FROM client_credentials
    WHERE tenant = {tenant:String} AND client_id = {client:String}
    GROUP BY credential_source, credential
) AS c
LEFT JOIN
(
    SELECT toString(credential_source) AS credential_source, credential,
           sumMap([toUInt32(dateDiff('day', {from:Date}, day))], [toUInt64(credential_days.requests)]) AS per_day
    FROM credential_days
    WHERE tenant = {tenant:String} AND client_id = {client:String} AND day >= {from:Date} AND day < {to:Date}
    GROUP BY credential_source, credential
) AS d ON d.credential_source = c.credential_source AND d.credential = c.credential
ORDER BY marked DESC, last_ms DESC
LIMIT 41
