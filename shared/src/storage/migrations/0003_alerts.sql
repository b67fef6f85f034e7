-- Alerts: the contract between detectors, the notifier and on-call (docs/detectors.md).
--
-- alert_id is a deterministic fingerprint of (detector, tenant, client_id, alert_key,
-- window_start), so a rerun, overlapping ticks or two detector replicas write rows with the
-- same id. ReplacingMergeTree(updated_at) keeps the newest version of each alert; readers use
-- FINAL (or argMax by updated_at), never a plain SELECT that could see two versions.
--
-- ORDER BY alert_id: every read is "this alert" (upsert, notifier) or a small scan of recent
-- ones; the table holds thousands of rows, not billions.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id      String,
    detector      LowCardinality(String),
    severity      Enum8('info' = 1, 'low' = 2, 'medium' = 3, 'high' = 4, 'critical' = 5),
    tenant        LowCardinality(String),
    client_id     LowCardinality(String),
    client_name   LowCardinality(String),
    alert_key     String COMMENT 'what the detector keyed the alert on: a jti, a location, a burst kind',
    window_start  DateTime64(3, 'UTC') COMMENT 'start of the window the fingerprint covers (1970 when it has none)',
    first_seen    DateTime64(3, 'UTC'),
    last_seen     DateTime64(3, 'UTC'),
    event_count   UInt64,
    summary       String,
    evidence      String COMMENT 'JSON object, detector-specific (docs/detectors.md)' CODEC(ZSTD(3)),
    event_ids     Array(String) COMMENT 'up to 100 of the events behind the alert' CODEC(ZSTD(3)),
    status        Enum8('firing' = 1, 'resolved' = 2),
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC'),
    INDEX idx_updated_at updated_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY alert_id;

-- Where each detector got to, by ingested_at: a tick examines (watermark, now - safety lag],
-- so late events are still examined and ticks missed while the service was down are caught up.
CREATE TABLE IF NOT EXISTS detector_watermarks
(
    detector   LowCardinality(String),
    watermark  DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY detector;
