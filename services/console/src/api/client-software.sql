-- A client's scopes, audiences and software (user-agent families, with one full user agent of
-- each) in the weeks from {from}'s Monday on, from the per-week rollup client_traits (0011): a
-- few rows per value and week, never token_requests. Successful requests only: what the client
-- was granted and ran. Each kind at most 50 values, most used first.
SELECT kind, value, example, requests, first_ms, last_ms
FROM
(
    SELECT toString(kind) AS kind, toString(value) AS value, anyLast(example) AS example, sum(requests) AS requests,
           toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms
    FROM client_traits
    WHERE tenant = {tenant:String} AND client_id = {client:String} AND week >= toMonday(toDate({from:DateTime64(3, 'UTC')}))
    GROUP BY kind, value
)
ORDER BY kind, requests DESC, value
LIMIT 50 BY kind
