-- The same question answered by the client_locations rollup (one row per client, day and
-- network) when every indicator is an ASN or a range at least as wide as its networks (/24
-- for IPv4, /48 for IPv6): a network lies in such a range exactly when its first address does.
-- Days are whole, so this may name a client whose match lies just outside [from, to);
-- sweep-matches.sql, which counts, is exact.
SELECT DISTINCT tenant, client_id
FROM client_locations
WHERE day >= toDate({from:DateTime64(3, 'UTC')}) AND day <= toDate({to:DateTime64(3, 'UTC')})
  AND last_seen >= {from:DateTime64(3, 'UTC')} AND first_seen < {to:DateTime64(3, 'UTC')}
  AND (asn IN {asns:Array(UInt32)}
       OR arrayExists((range_start, range_end) -> toIPv6(splitByChar('/', network)[1]) >= range_start
                                                  AND toIPv6(splitByChar('/', network)[1]) <= range_end,
                      {range_starts:Array(IPv6)}, {range_ends:Array(IPv6)}))
