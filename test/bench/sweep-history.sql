-- Synthetic stored traffic for the sweep benchmark, generated inside ClickHouse (as
-- detect-history.sql): 2,000 clients in 4 tenants, client secrets only (no jti, so jti_uses
-- stays empty and loading is faster), 1% failures. Each client calls from 8 addresses of its
-- own: two in three IPv4 in a /24 of its own, the rest IPv6 in a /64 of its own; one of 50
-- ASNs and two versions of one of 20 user agents per client.
INSERT INTO token_requests
    (event_id, time, idp, tenant, client_id, client_name, grant_type, auth_method, outcome, error_code,
     source_ip, user_agent, scopes, audience, country, asn, as_org, geo_source, ip_scope, hosting_provider)
SELECT
    concat({prefix:String}, toString(number)) AS event_id,
    fromUnixTimestamp64Milli(toInt64({start_ms:Int64} + intDiv(toInt64(number) * {span_ms:Int64}, {count:Int64})), 'UTC') AS time,
    'okta',
    concat('tenant-', toString(number % 2000 % 4)),
    concat('client-', toString(number % 2000)) AS client_id,
    concat('service ', toString(number % 2000)),
    'client_credentials',
    'client_secret_basic',
    if(number % 97 = 0, 'failure', 'success'),
    if(number % 97 = 0, 'invalid_client', ''),
    if(number % 2000 % 3 = 2,
       toIPv6(concat('2a05:d0', leftPad(hex(toUInt8(number % 2000 % 256)), 2, '0'), ':', hex(intDiv(number % 2000, 256) + 1), '::', hex(intDiv(number, 2000) % 8 + 1))),
       toIPv6(concat(toString(20 + intDiv(number % 2000, 256)), '.', toString(number % 2000 % 256), '.', toString(number % 2000 % 7), '.', toString(10 + intDiv(number, 2000) % 8)))),
    concat('agent-', toString(number % 2000 % 20), '/1.', toString(intDiv(number, 2000) % 2)),
    ['orders.read'], 'https://idp.example/token',
    'US', 64500 + number % 2000 % 50, 'BENCH-AS', 'idp', 'public', ''
FROM numbers({count:UInt64})
