-- The watch list (`tokenwatch watch`): clients, or one credential of a client, known to be
-- compromised. watched_credential raises a critical alert for every request from a watched
-- client (or credential) in [since, until), success or failure.
--
-- One row per version of a watch: adding writes the first version, removing writes one with
-- removed = true. ReplacingMergeTree(updated_at) keeps the newest; readers use FINAL. Nothing
-- is deleted, so who added and who removed a watch, when and why stays readable.
--
-- ORDER BY watch_id: the table holds tens of rows, read whole on every detector tick.
CREATE TABLE IF NOT EXISTS watch_list
(
    watch_id      String COMMENT 'w- followed by 12 hex digits, chosen when the watch is added',
    tenant        LowCardinality(String),
    client_id     String,
    credential_id String COMMENT 'empty: every credential of the client',
    since         DateTime64(3, 'UTC') COMMENT 'requests from this time on are alerts',
    until         Nullable(DateTime64(3, 'UTC')) COMMENT 'NULL: no end',
    reason        String,
    added_by      String COMMENT 'the operating-system user who ran `tokenwatch watch add`',
    added_at      DateTime64(3, 'UTC'),
    removed       Bool DEFAULT false,
    removed_by    String DEFAULT '',
    removed_at    Nullable(DateTime64(3, 'UTC')),
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY watch_id;
