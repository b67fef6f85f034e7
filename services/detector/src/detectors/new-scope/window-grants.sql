-- The window's successful grants per client and requested shape (its distinct scopes, sorted,
-- and its audience), with the first request of each shape: where it came from, with what.
SELECT tenant, client_id, any(client_name) AS client_name,
       arraySort(arrayDistinct(arrayMap(scope -> toString(scope), scopes))) AS scope_set, toString(audience) AS audience,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       -- first_*: the first request's, not the column's name (an alias would shadow the column).
       argMin(asn, time) AS first_asn, argMin(as_org, time) AS first_as_org, argMin(country, time) AS first_country,
       argMin(user_agent, time) AS first_user_agent, argMin(auth_method, time) AS first_auth_method,
       argMin(credential_id, time) AS first_credential_id,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success'
  AND (notEmpty(scopes) OR audience != '')
GROUP BY tenant, client_id, scope_set, audience
