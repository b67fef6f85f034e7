-- Fills the pre-0016 jti_uses rollup (no longer fed: 0016 dropped its view) with the requests
-- that arrived after {ingested_after}, as jti_uses_mv did, so bench:jti-lookup can time the
-- old look-up beside the new one on the same data.
INSERT INTO jti_uses
SELECT tenant, assertion_jti, toMonday(min(time)) AS week, uniqState(event_id) AS uses,
       groupUniqArray(toString(client_id)) AS clients, min(time) AS first_seen, max(time) AS last_seen
FROM token_requests
WHERE assertion_jti != '' AND ingested_at > {ingested_after:DateTime64(3, 'UTC')}
GROUP BY tenant, assertion_jti
