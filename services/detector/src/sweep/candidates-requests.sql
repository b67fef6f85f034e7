-- Which clients made a request in [from, to) that matches an indicator. The requests are first
-- reduced to their distinct (client, address, user agent, ASN), a far smaller set, and only
-- that set is compared with the indicators: addresses by hash (IN), ranges as IPv6 numbers,
-- user agents with positionCaseInsensitive (a substring search, no pattern). The counts come
-- from sweep-matches.sql, which reads only the clients found here.
SELECT DISTINCT tenant, client_id
FROM
(
    SELECT tenant, client_id, source_ip, user_agent, asn
    FROM token_requests
    WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
    GROUP BY tenant, client_id, source_ip, user_agent, asn
)
WHERE source_ip IN {addresses:Array(IPv6)}
   OR arrayExists((range_start, range_end) -> source_ip >= range_start AND source_ip <= range_end, {range_starts:Array(IPv6)}, {range_ends:Array(IPv6)})
   OR asn IN {asns:Array(UInt32)}
   OR arrayExists(fragment -> positionCaseInsensitive(user_agent, fragment) > 0, {user_agents:Array(String)})
