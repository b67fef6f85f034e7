-- Every request that used one of these jtis (or is one of these reported events): the evidence.
SELECT event_id, tenant, client_id, client_name, assertion_jti AS jti,
       toUnixTimestamp64Milli(time) AS time_ms, toString(outcome) AS outcome, error_code,
       replaceRegexpOne(toString(source_ip), '^::ffff:', '') AS source_ip, asn, as_org, country, replay_reported,
       assertion_unverified AS unverified, toUnixTimestamp(assertion_exp) AS exp
FROM token_requests
WHERE tenant IN {tenants:Array(String)}
  AND (assertion_jti IN {jtis:Array(String)} OR event_id IN {event_ids:Array(String)})
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
ORDER BY time, event_id
LIMIT 1 BY event_id
