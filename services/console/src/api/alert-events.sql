-- The requests behind an alert (its event_ids, at most 100), by the client's primary-key
-- prefix and the event_id bloom filter. Secrets never reach token_requests; raw is left out
-- because the page shows the canonical fields (the SQL page can read it).
SELECT event_id, time, idp, grant_type, auth_method, credential_id, outcome, error_code,
       -- IPv4 is stored as ::ffff:a.b.c.d; shown as people write it.
       if(startsWith(toString(source_ip) AS ip, '::ffff:'), substring(ip, 8), ip) AS source_ip, user_agent, scopes, audience, assertion_jti,
       assertion_kid, country, asn, as_org, hosting_provider
FROM token_requests FINAL
WHERE tenant = {tenant:String} AND client_id = {client:String} AND event_id IN {ids:Array(String)}
ORDER BY time
LIMIT 100
