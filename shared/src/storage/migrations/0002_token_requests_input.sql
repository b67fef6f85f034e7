-- The insert path for token_requests. Writers send canonical TokenRequest JSON lines (the zod
-- schema's output, re-serialised) to this Null table; the materialized view flattens them into
-- token_requests, so the JSON-to-columns mapping is written once, in SQL, for every writer.
CREATE TABLE IF NOT EXISTS token_requests_input
(
    event_id         String,
    time             String,  -- RFC 3339 text or epoch milliseconds
    idp              String,
    tenant           String,
    client_id        String,
    client_name      String,
    grant_type       String,
    auth_method      String,
    credential_id    String,
    outcome          String,
    error_code       String,
    source_ip        String,
    user_agent       String,
    scopes           Array(String),
    audience         String,
    assertion        Tuple(jti String, iat Nullable(UInt32), exp Nullable(UInt32), iss String, sub String,
                           aud String, kid String, alg String),
    replay_reported  Bool,
    geo              Tuple(country String, city String, asn UInt32, as_org String),
    -- Added by the ingest worker after validation; producers cannot set it (zod drops it).
    enrichment       Tuple(geo_source String, ip_scope String, hosting_provider String),
    -- Added by decode after validation: the source record's allowlisted, redacted JSON text
    -- (absent, hence '', for canonical input: zod drops a `raw` key a producer sends).
    raw              String
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS token_requests_input_mv TO token_requests AS
SELECT
    event_id,
    if(match(time, '^[0-9]+$'),
       fromUnixTimestamp64Milli(toInt64(time), 'UTC'),
       parseDateTime64BestEffort(time, 3, 'UTC')) AS time,
    idp, tenant, client_id, client_name, grant_type, auth_method, credential_id,
    CAST(outcome, 'Enum8(\'success\' = 1, \'failure\' = 2)') AS outcome,
    error_code,
    -- IPv4 becomes IPv4-mapped IPv6, so one column holds both families.
    toIPv6(source_ip) AS source_ip,
    user_agent, scopes, audience,
    assertion.jti AS assertion_jti,
    toDateTime(assertion.iat, 'UTC') AS assertion_iat,
    toDateTime(assertion.exp, 'UTC') AS assertion_exp,
    assertion.iss AS assertion_iss,
    assertion.sub AS assertion_sub,
    -- `aud` may be one string or an array of strings (read as its JSON text).
    if(startsWith(assertion.aud, '['),
       arrayStringConcat(JSONExtract(assertion.aud, 'Array(String)'), ' '),
       assertion.aud) AS assertion_aud,
    assertion.kid AS assertion_kid,
    assertion.alg AS assertion_alg,
    replay_reported,
    geo.country AS country,
    geo.city AS city,
    geo.asn AS asn,
    geo.as_org AS as_org,
    enrichment.geo_source AS geo_source,
    enrichment.ip_scope AS ip_scope,
    enrichment.hosting_provider AS hosting_provider,
    raw
FROM token_requests_input;
