-- Synthetic stored traffic for the detector benchmark, generated inside ClickHouse (50 million
-- rows through the token_requests_input view would take hours as JSON from Node). It goes
-- through the same Null table and materialized views as real events, so every rollup fills.
-- 500 clients in one tenant; two in three authenticate with private_key_jwt (a unique jti per
-- request), the rest with a client secret; each from 16 addresses of its own /24; 1% failures.
INSERT INTO token_requests_input
SELECT
    concat({prefix:String}, toString(number)) AS event_id,
    toString(toInt64({start_ms:Int64} + intDiv(toInt64(number) * {span_ms:Int64}, {count:Int64}))) AS time,
    'oidc-provider' AS idp,
    'bench' AS tenant,
    concat('client-', toString(number % 500)) AS client_id,
    concat('service ', toString(number % 500)) AS client_name,
    'client_credentials' AS grant_type,
    if(number % 500 % 3 = 0, 'client_secret_basic', 'private_key_jwt') AS auth_method,
    '' AS credential_id,
    if(number % 97 = 0, 'failure', 'success') AS outcome,
    if(number % 97 = 0, 'invalid_client', '') AS error_code,
    concat('3.', toString(200 + intDiv(number % 500, 250)), '.', toString(number % 250), '.', toString(number % 16)) AS source_ip,
    'okhttp/4.12.0' AS user_agent,
    ['orders.read'] AS scopes,
    'https://idp.example/token' AS audience,
    if(number % 500 % 3 = 0,
       tuple('', NULL, NULL, '', '', '', '', ''),
       tuple(concat('jti-', {prefix:String}, toString(number)),
             toUInt32(intDiv({start_ms:Int64} + intDiv(toInt64(number) * {span_ms:Int64}, {count:Int64}), 1000)),
             toUInt32(intDiv({start_ms:Int64} + intDiv(toInt64(number) * {span_ms:Int64}, {count:Int64}), 1000) + 120),
             '', '', '', 'k1', 'RS256'))
        AS assertion,
    false AS replay_reported,
    tuple('US', '', 14618, 'AMAZON-AES') AS geo,
    tuple('idp', 'public', 'aws') AS enrichment,
    '' AS raw
FROM numbers({count:UInt64})
