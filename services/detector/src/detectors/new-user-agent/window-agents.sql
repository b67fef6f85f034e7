-- The window's requests per client and user agent: successful ones with their first request
-- (when, from where), and the failures, which make a new software's arrival high.
SELECT tenant, client_id, any(client_name) AS client_name, toString(user_agent) AS user_agent,
       toUnixTimestamp64Milli(minIf(time, outcome = 'success')) AS first_ms,
       toUnixTimestamp64Milli(maxIf(time, outcome = 'success')) AS last_ms,
       uniqExactIf(event_id, outcome = 'success') AS requests,
       uniqExactIf(event_id, outcome = 'failure') AS failures,
       -- first_*: the first successful request's (argMin over successes only).
       argMinIf(asn, time, outcome = 'success') AS first_asn, argMinIf(as_org, time, outcome = 'success') AS first_as_org,
       argMinIf(country, time, outcome = 'success') AS first_country,
       groupUniqArrayIf(10)(asn, outcome = 'success') AS asns,
       groupUniqArrayIf(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', ''), outcome = 'success') AS ips,
       groupArrayIf(20)(event_id, outcome = 'success') AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, user_agent
