-- Synthetic stored traffic for the detector benchmark, generated inside ClickHouse: 50 million
-- rows as JSON from Node would take an hour, and this benchmark measures detection, not
-- ingestion. Rows go straight into token_requests, so the rollups' materialized views fill
-- exactly as they do for ingested events. 500 clients in one tenant; two in three
-- authenticate with private_key_jwt (a unique jti per request, random-looking like a real UUID
-- so that a batch's jtis spread over the jti rollup as real ones do), the rest with a client
-- secret; each from 16 addresses of its own /24; 1% failures. One client in 50 is multi-region,
-- minting from three cloud ASNs in turn: concurrent_networks reads the whole rollup history of
-- such a client on every tick (a candidate: three networks in a window), its costliest path.
INSERT INTO token_requests
    (event_id, time, idp, tenant, client_id, client_name, grant_type, auth_method, outcome, error_code,
     source_ip, user_agent, scopes, audience, assertion_jti, assertion_iat, assertion_exp, assertion_kid,
     assertion_alg, country, asn, as_org, geo_source, ip_scope, hosting_provider)
SELECT
    concat({prefix:String}, toString(number)) AS event_id,
    fromUnixTimestamp64Milli(toInt64({start_ms:Int64} + intDiv(toInt64(number) * {span_ms:Int64}, {count:Int64})), 'UTC') AS time,
    'oidc-provider', 'bench',
    concat('client-', toString(number % 500)) AS client_id,
    concat('service ', toString(number % 500)),
    'client_credentials',
    if(number % 500 % 3 = 0, 'client_secret_basic', 'private_key_jwt') AS auth_method,
    if(number % 97 = 0, 'failure', 'success'),
    if(number % 97 = 0, 'invalid_client', ''),
    toIPv6(concat('3.', toString(200 + intDiv(number % 500, 250)), '.', toString(number % 250), '.', toString(number % 16))),
    'okhttp/4.12.0', ['orders.read'], 'https://idp.example/token',
    if(auth_method = 'private_key_jwt', lower(hex(sipHash128(event_id))), ''),
    if(auth_method = 'private_key_jwt', toDateTime(time, 'UTC'), NULL),
    if(auth_method = 'private_key_jwt', toDateTime(time, 'UTC') + 120, NULL),
    if(auth_method = 'private_key_jwt', 'k1', ''),
    if(auth_method = 'private_key_jwt', 'RS256', ''),
    'US',
    if(number % 500 % 50 = 1, [14618, 396982, 8075][number % 3 + 1], 14618) AS asn,
    if(number % 500 % 50 = 1, ['AMAZON-AES', 'GOOGLE-CLOUD-PLATFORM', 'MICROSOFT-CORP-MSN-AS-BLOCK'][number % 3 + 1], 'AMAZON-AES'),
    'idp', 'public', if(number % 500 % 50 = 1, ['aws', 'gcp', 'azure'][number % 3 + 1], 'aws')
FROM numbers({count:UInt64})
