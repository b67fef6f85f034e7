-- The notifier's delivery ledger (docs/notifier.md): what was sent where, with Slack's ts.
--
-- Append-only: each step of delivering an alert version is one row, so a crash leaves a
-- readable trail. A root post first writes an `intent` row and then a `sent` row with the
-- message ts; an intent without a sent row is an ambiguous post that the notifier searches
-- Slack for before posting again. `completes` marks the row that finishes handling one alert
-- version for one sink; the notifier's feed skips versions that have such a row.
--
-- ORDER BY (sink, alert_id, recorded_at): reads are "the rows of these alerts for this sink".
CREATE TABLE IF NOT EXISTS notifications
(
    sink           LowCardinality(String) COMMENT 'slack, terminal, jsonl or webhook',
    alert_id       String COMMENT 'the alert fingerprint, or a digest id (digest-...)',
    alert_version  DateTime64(3, 'UTC') COMMENT 'updated_at of the alert version handled',
    message        LowCardinality(String) COMMENT 'root, reply, update, digest, digest_update or delivery',
    step           LowCardinality(String) COMMENT 'intent (about to post), sent, skipped or failed',
    completes      Bool COMMENT 'this row finishes the alert version for the sink',
    channel        String,
    ts             String COMMENT 'Slack message ts (empty for other sinks)',
    thread_ts      String COMMENT 'the thread the message is in, empty for a top-level message',
    severity       LowCardinality(String),
    status         LowCardinality(String),
    event_count    UInt64,
    detail         String COMMENT 'error code or note, redacted',
    recorded_at    DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (sink, alert_id, recorded_at);
