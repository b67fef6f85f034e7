-- The window's successful requests per client and user agent, with the first one's time and
-- place.
SELECT tenant, client_id, any(client_name) AS client_name, toString(user_agent) AS user_agent,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       -- first_*: the first request's, not the column's name (an alias would shadow the column).
       argMin(asn, time) AS first_asn, argMin(as_org, time) AS first_as_org, argMin(country, time) AS first_country,
       groupUniqArray(10)(asn) AS asns,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success' AND user_agent != ''
GROUP BY tenant, client_id, user_agent
