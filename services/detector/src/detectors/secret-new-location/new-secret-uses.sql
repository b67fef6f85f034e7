-- The window's successful secret-authenticated requests from routable addresses, per client,
-- credential and location (network = /24 or /48, the same expression as client_locations).
SELECT tenant, client_id, any(client_name) AS client_name, auth_method, credential_id, country, asn,
       if(startsWith(cutIPv6(source_ip, 10, 1) AS cut, '::ffff:'), concat(substring(cut, 8), '/24'), concat(cut, '/48')) AS network,
       any(as_org) AS as_org, any(hosting_provider) AS hosting_provider,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success'
  AND auth_method IN {methods:Array(String)}
  AND ip_scope NOT IN ('private', 'loopback', 'link_local', 'unspecified', 'reserved')
GROUP BY tenant, client_id, auth_method, credential_id, country, asn, network
