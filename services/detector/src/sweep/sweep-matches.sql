-- Per client and indicator: first and last request, requests and successes in [from, to), for
-- the clients candidates-*.sql found ({client_keys}: tenant, NUL, client_id). Requests are
-- counted as distinct event ids within each (client, address, user agent, ASN) group; a
-- request belongs to one group only, so sums over groups count each request once, and
-- client_requests (the client's requests that matched any indicator) counts a request that
-- matched two indicators once. Indicators are matched as in candidates-requests.sql; the
-- LIMIT is the same fence.
SELECT tenant, client_id, indicator,
       toUnixTimestamp64Milli(min(first_time)) AS first_ms, toUnixTimestamp64Milli(max(last_time)) AS last_ms,
       sum(group_requests) AS requests, sum(group_successes) AS successes, any(matched_requests) AS client_requests
FROM
(
    SELECT *, sum(group_requests) OVER (PARTITION BY tenant, client_id) AS matched_requests
    FROM
    (
        SELECT tenant, client_id, first_time, last_time, group_requests, group_successes,
               arrayConcat(
                   if(source_ip IN {addresses:Array(IPv6)}, [{address_labels:Array(String)}[indexOf({addresses:Array(IPv6)}, source_ip)]], []),
                   arrayMap(key -> {range_labels:Array(String)}[indexOf({range_keys:Array(String)}, key)],
                            arrayFilter(key -> key IN {range_keys:Array(String)},
                                        arrayMap(prefix -> concat(hex(IPv6CIDRToRange(source_ip, prefix).1), '/', toString(prefix)),
                                                 {range_prefixes:Array(UInt8)}))),
                   if(asn IN {asns:Array(UInt32)}, [{asn_labels:Array(String)}[indexOf({asns:Array(UInt32)}, asn)]], []),
                   arrayFilter((label, fragment) -> positionCaseInsensitive(user_agent, fragment) > 0,
                               {user_agent_labels:Array(String)}, {user_agents:Array(String)})
               ) AS indicators
        FROM
        (
            SELECT tenant, client_id, source_ip, user_agent, asn,
                   min(time) AS first_time, max(time) AS last_time,
                   uniqExact(event_id) AS group_requests, uniqExactIf(event_id, outcome = 'success') AS group_successes
            FROM token_requests
            WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
              AND tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
              AND concat(tenant, '\0', client_id) IN {client_keys:Array(String)}
            GROUP BY tenant, client_id, source_ip, user_agent, asn
            LIMIT 1000000000000
        )
        WHERE notEmpty(indicators)
    )
)
ARRAY JOIN indicators AS indicator
GROUP BY tenant, client_id, indicator
ORDER BY tenant, client_id, indicator
