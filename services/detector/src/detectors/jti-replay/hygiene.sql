-- The window's requests whose client assertion breaks policy by the laxest configured limits
-- (the code applies each client's own): lifetime above the limit, no jti, iat too far from
-- the request time. Only requests that carried an assertion (the tap records its claims).
SELECT event_id, tenant, client_id, client_name, toUnixTimestamp64Milli(time) AS time_ms,
       dateDiff('second', assertion_iat, assertion_exp) AS lifetime_seconds,
       dateDiff('second', assertion_iat, time) AS iat_age_seconds,
       assertion_jti = '' AS missing_jti
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND (assertion_alg != '' OR assertion_iat IS NOT NULL OR assertion_exp IS NOT NULL)
  AND (assertion_jti = ''
       OR dateDiff('second', assertion_iat, assertion_exp) > {max_lifetime_seconds:UInt32}
       OR abs(dateDiff('second', assertion_iat, time)) > {max_skew_seconds:UInt32})
ORDER BY time
LIMIT 1 BY event_id
