-- The same question answered by the client_locations rollup (one row per client, day and
-- network) when every indicator is an ASN or a range at least as wide as its networks (/24
-- for IPv4, /48 for IPv6): a network lies in such a range exactly when its first address does,
-- compared by range key as in candidates-requests.sql. Days are whole, so this may name a
-- client whose match lies just outside [from, to); sweep-matches.sql, which counts, is exact.
-- The rollup holds what arrived up to the detectors' last refresh (watermark 'rollups',
-- shared/src/storage/rollups/refresh.ts); the requests that arrived since are asked directly,
-- so a sweep is complete without writing anything (it runs read-only).
SELECT DISTINCT tenant, client_id
FROM
(
    SELECT tenant, client_id, asn, toIPv6(splitByChar('/', network)[1]) AS network_start
    FROM client_locations
    WHERE day >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')})
      AND last_seen >= {from:DateTime64(3, 'UTC')} AND first_seen < {to:DateTime64(3, 'UTC')}
    GROUP BY tenant, client_id, asn, network_start
    LIMIT 1000000000000
)
WHERE asn IN {asns:Array(UInt32)}
   OR arrayExists(prefix -> concat(hex(IPv6CIDRToRange(network_start, prefix).1), '/', toString(prefix)) IN {range_keys:Array(String)},
                  {range_prefixes:Array(UInt8)})
UNION DISTINCT
SELECT DISTINCT tenant, client_id
FROM token_requests
WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
  AND ingested_at > (SELECT max(watermark) FROM detector_watermarks FINAL WHERE detector = 'rollups')
  AND (asn IN {asns:Array(UInt32)}
       OR arrayExists(prefix -> concat(hex(IPv6CIDRToRange(source_ip, prefix).1), '/', toString(prefix)) IN {range_keys:Array(String)},
                      {range_prefixes:Array(UInt8)}))
