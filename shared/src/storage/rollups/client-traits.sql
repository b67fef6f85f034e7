-- client_traits (0011) from the requests that arrived in one window; the SELECT is
-- client_traits_mv's as it was (the user-agent family rule: 0011_client_traits.sql). Why the
-- SETTINGS: refresh.ts.
INSERT INTO client_traits SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id, trait.1 AS kind, trait.2 AS value, toMonday(time) AS week,
       anyLast(if(trait.1 = 'user_agent_family', toString(user_agent), '')) AS example,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
ARRAY JOIN arrayConcat(
    arrayMap(scope -> tuple('scope', toString(scope)), scopes),
    if(audience != '', [tuple('audience', toString(audience))], []),
    if((lower(substringUTF8(splitByChar('/', splitByWhitespace(toString(user_agent))[1])[1], 1, 128)) AS family) != '',
       [tuple('user_agent_family', family)], [])
) AS trait
WHERE outcome = 'success' AND ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, kind, value, week
