-- The window's replay reports from the IdP, by jti (the empty jti gathers reports without one).
SELECT tenant, assertion_jti AS jti, groupUniqArrayIf(event_id, replay_reported AND assertion_jti = '') AS reported_without_jti,
       max(replay_reported) AS reported,
       toUnixTimestamp64Milli(min(time)) AS first_time, toUnixTimestamp64Milli(max(time)) AS last_time
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND replay_reported
GROUP BY tenant, jti
