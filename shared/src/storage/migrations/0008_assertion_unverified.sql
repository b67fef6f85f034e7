-- assertion_unverified (TokenRequest's optional field of the same name): the assertion claims
-- of this row are what the caller wrote, read by the tap from a request the IdP did not
-- accept, so no signature check vouches for them. jti_replay ranks a replay seen only on such
-- rows low: anyone can send two refused requests naming any client and one jti.
ALTER TABLE token_requests
    ADD COLUMN IF NOT EXISTS assertion_unverified Bool DEFAULT false
        COMMENT 'the assertion claims (and a client_id read from them) are unverified: the IdP refused the request'
        AFTER replay_reported;

ALTER TABLE token_requests_input ADD COLUMN IF NOT EXISTS assertion_unverified Bool AFTER replay_reported;

-- 0002's view, with the new column; MODIFY QUERY swaps it in place, so no insert runs
-- between two views or none. The definer's rights (0006) are a property of the view and stay.
ALTER TABLE token_requests_input_mv MODIFY QUERY
SELECT
    event_id,
    if(match(time, '^[0-9]+$'),
       fromUnixTimestamp64Milli(toInt64(time), 'UTC'),
       parseDateTime64BestEffort(time, 3, 'UTC')) AS time,
    idp, tenant, client_id, client_name, grant_type, auth_method, credential_id,
    CAST(outcome, 'Enum8(\'success\' = 1, \'failure\' = 2)') AS outcome,
    error_code,
    toIPv6(source_ip) AS source_ip,
    user_agent, scopes, audience,
    assertion.jti AS assertion_jti,
    toDateTime(assertion.iat, 'UTC') AS assertion_iat,
    toDateTime(assertion.exp, 'UTC') AS assertion_exp,
    assertion.iss AS assertion_iss,
    assertion.sub AS assertion_sub,
    if(startsWith(assertion.aud, '['),
       arrayStringConcat(JSONExtract(assertion.aud, 'Array(String)'), ' '),
       assertion.aud) AS assertion_aud,
    assertion.kid AS assertion_kid,
    assertion.alg AS assertion_alg,
    replay_reported,
    assertion_unverified,
    geo.country AS country,
    geo.city AS city,
    geo.asn AS asn,
    geo.as_org AS as_org,
    enrichment.geo_source AS geo_source,
    enrichment.ip_scope AS ip_scope,
    enrichment.hosting_provider AS hosting_provider,
    raw
FROM token_requests_input;
