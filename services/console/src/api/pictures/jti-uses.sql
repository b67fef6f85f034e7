-- Every use of one client assertion (jti) by the alert's clients in a span, oldest first, by
-- the primary key's (tenant, client_id, time) prefix. LIMIT 1 BY event_id: a redelivered event
-- not yet merged away counts once. At most 201 rows: the reader shows 200 and says it cut.
SELECT toUnixTimestamp64Milli(time) AS time_ms, toString(client_id) AS client_id, toString(outcome) AS outcome, error_code,
       -- IPv4 is stored as ::ffff:a.b.c.d; shown as people write it.
       if(startsWith(toString(source_ip) AS ip, '::ffff:'), substring(ip, 8), ip) AS source_ip,
       asn, as_org, toString(country) AS country
FROM token_requests
WHERE tenant = {tenant:String} AND client_id IN {clients:Array(String)} AND assertion_jti = {jti:String}
  AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
ORDER BY time_ms, event_id
LIMIT 1 BY event_id
LIMIT 201
