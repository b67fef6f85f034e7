-- What tokenwatch knows of each client credential, so new_credential, stale_credential and
-- `tokenwatch credentials` never read token_requests history (see 0004_rollups.sql).
--
-- A credential is what the IdP names as the key or secret a client authenticated with:
-- credential_id when the event carries one (Entra's key id, certificate thumbprint or federated
-- credential, Auth0's mTLS thumbprint, a gateway's own id), else the client assertion's kid
-- (the tap, node oidc-provider, canonical producers). Requests naming neither (Okta, Cognito,
-- Keycloak logs) have no credential and are not rolled up here. credential_source says which
-- field named it, so a key id and a kid with the same text stay apart.
--
-- Only successful requests whose claims someone vouched for count: a refused request, or one
-- whose kid the tap read from an assertion the IdP did not accept (assertion_unverified), is
-- anyone's text, and would otherwise let an attacker make their key "known" in advance.

-- One row per client and credential, kept as long as the `clients` rollup (no TTL): when it was
-- first and last used, how often, and the first 32 ASNs and 16 countries it was used from.
-- stale_credential needs a first use older than any retention; the table grows with the
-- number of credentials, not of requests.
CREATE TABLE IF NOT EXISTS client_credentials
(
    tenant            LowCardinality(String),
    client_id         LowCardinality(String),
    credential_source LowCardinality(String) COMMENT 'credential_id or assertion_kid: the field that named the credential',
    credential        String,
    auth_method       SimpleAggregateFunction(anyLast, LowCardinality(String)),
    first_seen        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen         SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    requests          SimpleAggregateFunction(sum, UInt64),
    asns              AggregateFunction(groupUniqArray(32), UInt32),
    countries         AggregateFunction(groupUniqArray(16), String)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, client_id, credential_source, credential);

CREATE MATERIALIZED VIEW IF NOT EXISTS client_credentials_mv TO client_credentials SQL SECURITY DEFINER AS
SELECT tenant, client_id,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       anyLast(auth_method) AS auth_method, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(32)(asn) AS asns, groupUniqArrayStateIf(16)(toString(country), country != '') AS countries
FROM token_requests
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
GROUP BY tenant, client_id, credential_source, credential;

INSERT INTO client_credentials
SELECT tenant, client_id,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       anyLast(auth_method) AS auth_method, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(32)(asn) AS asns, groupUniqArrayStateIf(16)(toString(country), country != '') AS countries
FROM token_requests FINAL
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
GROUP BY tenant, client_id, credential_source, credential;

-- Per client, credential, day and network (ASN): first and last use and a count, kept
-- TOKENWATCH_RETENTION_DAYS. new_credential reads a new credential's first uses and which
-- networks the client's other credentials minted from around them (parallel use).
CREATE TABLE IF NOT EXISTS credential_days
(
    tenant            LowCardinality(String),
    client_id         LowCardinality(String),
    day               Date,
    credential_source LowCardinality(String),
    credential        String,
    asn               UInt32,
    country           LowCardinality(String),
    as_org            SimpleAggregateFunction(anyLast, LowCardinality(String)),
    first_seen        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen         SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    requests          SimpleAggregateFunction(sum, UInt64),
    ips               AggregateFunction(groupUniqArray(5), String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(day)
ORDER BY (tenant, client_id, day, credential_source, credential, asn, country)
TTL day + toIntervalDay({retention_days:UInt32})
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS credential_days_mv TO credential_days SQL SECURITY DEFINER AS
SELECT tenant, client_id, toDate(time) AS day,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       asn, country, anyLast(as_org) AS as_org, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips
FROM token_requests
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
GROUP BY tenant, client_id, day, credential_source, credential, asn, country;

INSERT INTO credential_days
SELECT tenant, client_id, toDate(time) AS day,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       asn, country, anyLast(as_org) AS as_org, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips
FROM token_requests FINAL
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
GROUP BY tenant, client_id, day, credential_source, credential, asn, country;
