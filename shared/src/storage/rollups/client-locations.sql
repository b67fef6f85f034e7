-- client_locations (0004) from the requests that arrived in one window; the SELECT is
-- client_locations_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO client_locations SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT
    tenant, client_id, toDate(time) AS day, auth_method, credential_id, outcome, country, asn,
    -- cutIPv6 zeroes the host part: 1 byte of an IPv4 (-> /24), 10 bytes of an IPv6 (-> /48).
    if(startsWith(cutIPv6(source_ip, 10, 1) AS cut, '::ffff:'),
       concat(substring(cut, 8), '/24'), concat(cut, '/48')) AS network,
    anyLast(as_org) AS as_org, anyLast(hosting_provider) AS hosting_provider,
    min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
WHERE ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, day, auth_method, credential_id, outcome, country, asn, network
