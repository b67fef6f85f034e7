-- The clients that minted a token (a successful request) in the window, with what the
-- evidence shows about the first of them. One row per client: bounded by the clients active
-- in one window, whatever their volume.
SELECT tenant, client_id, any(client_name) AS client_name,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       groupUniqArray(5)(toString(auth_method)) AS auth_methods,
       groupUniqArray(5)(toString(credential_id)) AS credential_ids,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS source_ips,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success'
GROUP BY tenant, client_id
