-- Validated TokenRequests as TabSeparated lines (token-request-row.ts), straight into
-- token_requests: no input table, no parsing view. The columns are TOKEN_REQUEST_COLUMNS, in
-- that order; ingested_at takes its default.
-- The token makes a retried insert of the same batch a no-op in token_requests and, because
-- deduplication follows the block into the materialized views, in every rollup too.
INSERT INTO token_requests
    (event_id, time, idp, tenant, client_id, client_name, grant_type, auth_method, credential_id,
     outcome, error_code, source_ip, user_agent, scopes, audience,
     assertion_jti, assertion_iat, assertion_exp, assertion_iss, assertion_sub, assertion_aud,
     assertion_kid, assertion_alg, replay_reported, assertion_unverified,
     country, city, asn, as_org, geo_source, ip_scope, hosting_provider, raw)
--
-- optimize_on_insert = 0: ClickHouse would otherwise run ReplacingMergeTree's merge over each
-- block before writing it, to collapse rows of equal sort key within the block; a batch never
-- holds two rows of one event_id (classify.ts keeps the first), every reader of token_requests
-- uses FINAL or uniqExact(event_id), and the rollups' views aggregate each block themselves, so
-- that pass finds nothing and only costs CPU (about a fifth of the engine's per insert in a
-- same-process comparison, docs/benchmarks.md).
SETTINGS
    insert_deduplication_token = {dedup_token:String},
    deduplicate_blocks_in_dependent_materialized_views = 1,
    optimize_on_insert = 0
FORMAT TabSeparated
