-- The fresh attack of bench:rollups-behind: one assertion (jti {jti:String}) used twice, from
-- two networks, stored after the backlog: the last two arrivals.
INSERT INTO token_requests
    (event_id, time, idp, tenant, client_id, client_name, grant_type, auth_method, outcome, error_code,
     source_ip, user_agent, scopes, audience, assertion_jti, assertion_iat, assertion_exp, assertion_kid,
     assertion_alg, country, asn, as_org, geo_source, ip_scope, hosting_provider)
SELECT
    concat('fresh-replay-', toString(number)), now64(3, 'UTC'), 'oidc-provider', 'bench', 'client-7', 'service 7',
    'client_credentials', 'private_key_jwt', 'success', '',
    toIPv6(concat('3.200.7.', toString(number + 1))), 'okhttp/4.12.0', ['orders.read'], 'https://idp.example/token',
    {jti:String}, toDateTime(now(), 'UTC'), toDateTime(now(), 'UTC') + 120, 'k1', 'RS256',
    'US', 14618, 'AMAZON-AES', 'idp', 'public', 'aws'
FROM numbers(2)
