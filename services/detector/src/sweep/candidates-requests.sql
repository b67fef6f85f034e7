-- Which clients made a request in [from, to) that matches an indicator. The requests are first
-- reduced to their distinct (client, address, user agent, ASN), a far smaller set, and only
-- that set is compared with the indicators, each kind by a hash lookup: addresses and ASNs
-- IN a set; a range by its first address under each prefix length the file uses
-- (IPv6CIDRToRange, in hex with the length, IN the set of range keys), so 1,000 ranges cost a
-- few lookups per address, not 1,000 comparisons; user agents through the few distinct agents
-- that contain a fragment (positionCaseInsensitive, a substring search, no pattern).
--
-- The LIMIT is a fence, not a bound: without it ClickHouse pushes the outer WHERE into the
-- grouping subquery and compares every request row instead of every distinct group.
SELECT DISTINCT tenant, client_id
FROM
(
    SELECT tenant, client_id, source_ip, user_agent, asn
    FROM token_requests
    WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
    GROUP BY tenant, client_id, source_ip, user_agent, asn
    LIMIT 1000000000000
)
WHERE source_ip IN {addresses:Array(IPv6)}
   OR asn IN {asns:Array(UInt32)}
   OR arrayExists(prefix -> concat(hex(IPv6CIDRToRange(source_ip, prefix).1), '/', toString(prefix)) IN {range_keys:Array(String)},
                  {range_prefixes:Array(UInt8)})
   OR user_agent IN
      (
          SELECT user_agent
          FROM (SELECT DISTINCT user_agent FROM token_requests
                WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')} LIMIT 1000000000000)
          WHERE arrayExists(fragment -> positionCaseInsensitive(user_agent, fragment) > 0, {user_agents:Array(String)})
      )
