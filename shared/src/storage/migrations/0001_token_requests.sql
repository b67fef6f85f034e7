-- One row per client token request, in the canonical TokenRequest v1 shape.
--
-- Engine: ReplacingMergeTree collapses a re-sent event (same event_id, hence the same sort
-- key) at merge time; every tokenwatch query reads with FINAL or counts uniqExact(event_id),
-- so a duplicate never counts twice before that merge. Retried inserts of the same block are
-- dropped at insert time by insert_deduplication_token, which plain MergeTree honours only
-- with non_replicated_deduplication_window > 0.
--
-- ORDER BY: detectors and investigations ask "what did this client do, when", so the key
-- leads with (tenant, client_id, time); event_id ends it only to make the dedup key unique.
-- The primary index keeps the shorter prefix to stay small in memory.
--
-- PARTITION BY week: retention drops whole weekly parts (ttl_only_drop_parts) instead of
-- rewriting them, and a backfill of a few months stays under 100 partitions per insert.
--
-- LowCardinality for columns with a few thousand distinct values at most (client ids, ASN
-- organisations, user agents of machine clients), which shrinks them and speeds GROUP BY.
CREATE TABLE IF NOT EXISTS token_requests
(
    event_id         String CODEC(ZSTD(1)),
    time             DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    idp              LowCardinality(String),
    tenant           LowCardinality(String),
    client_id        LowCardinality(String),
    client_name      LowCardinality(String),
    grant_type       LowCardinality(String),
    auth_method      LowCardinality(String),
    credential_id    LowCardinality(String),
    outcome          Enum8('success' = 1, 'failure' = 2),
    error_code       LowCardinality(String),
    source_ip        IPv6,
    user_agent       LowCardinality(String),
    scopes           Array(LowCardinality(String)),
    audience         LowCardinality(String),
    assertion_jti    String CODEC(ZSTD(1)),
    assertion_iat    Nullable(DateTime('UTC')),
    assertion_exp    Nullable(DateTime('UTC')),
    assertion_iss    String CODEC(ZSTD(1)),
    assertion_sub    String CODEC(ZSTD(1)),
    assertion_aud    String CODEC(ZSTD(1)),
    assertion_kid    LowCardinality(String),
    assertion_alg    LowCardinality(String),
    replay_reported  Bool,
    country          LowCardinality(String),
    city             LowCardinality(String),
    asn              UInt32,
    as_org           LowCardinality(String),
    -- Offline enrichment (shared/src/enrich), filled by the ingest worker.
    geo_source       LowCardinality(String) COMMENT 'who filled country/asn/as_org: idp, lookup (offline databases), mixed, none',
    ip_scope         LowCardinality(String) COMMENT 'source_ip kind: public, private, loopback, link_local, unspecified, reserved',
    hosting_provider LowCardinality(String) COMMENT 'cloud/hosting/CDN provider owning asn (hosting-asns.json), empty if none',
    -- The vendor record the event came from, as JSON, after the format's fail-closed allowlist
    -- and redaction (shared/src/formats/raw.ts); '' for canonical input. Read only when an
    -- investigator opens a row, never filtered or grouped on: ZSTD(3) instead of LowCardinality
    -- or the default LZ4, because these JSON texts repeat their keys and most values row after
    -- row and compress several times better with ZSTD, which matters more here than decode speed.
    raw              String COMMENT 'allowlisted, redacted source record (JSON), empty for canonical input' CODEC(ZSTD(3)),
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
    -- "where else was this jti / this event seen": point look-ups outside the sort key.
    INDEX idx_assertion_jti assertion_jti TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 4,
    -- Detectors read "what arrived since my watermark"; ingested_at follows time closely.
    INDEX idx_ingested_at ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toMonday(time)
PRIMARY KEY (tenant, client_id, time)
ORDER BY (tenant, client_id, time, event_id)
TTL toDateTime(time) + toIntervalDay({retention_days:UInt32})
SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1;
