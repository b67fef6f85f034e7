-- The per-client rollups are no longer fed by materialized views on token_requests: the
-- detector's tick rolls up what arrived since its last refresh (shared/src/storage/rollups/
-- refresh.ts), so an insert into token_requests writes one table, not nine (issue #16,
-- docs/benchmarks.md "rollups at the tick"). Readers of the rollups (the inventory, the console)
-- see a request once a tick has run after it arrived.

-- Where the refresh starts: every request stored now was rolled up by the views. A fresh
-- database gets the epoch (max of nothing), and the first refresh rolls up everything.
-- Written before the views are dropped: a separate ingest process inserting while this migration
-- runs lands requests after this watermark that a view still rolls up, and the first refresh
-- rolls them up once more. That over-counts the `requests` sums of those few rows (the uniq,
-- min, max and set columns are the same either way); the other order would lose them from the
-- rollups for good, and "never seen before" detectors would then call a known value new.
INSERT INTO detector_watermarks (detector, watermark, updated_at)
SELECT 'rollups', max(ingested_at), now64(3) FROM token_requests;

DROP VIEW IF EXISTS client_minute_counts_mv;
DROP VIEW IF EXISTS client_locations_mv;
DROP VIEW IF EXISTS clients_mv;
DROP VIEW IF EXISTS client_traits_mv;
DROP VIEW IF EXISTS client_credentials_mv;
DROP VIEW IF EXISTS credential_days_mv;
DROP VIEW IF EXISTS client_asn_slots_mv;
DROP VIEW IF EXISTS jti_use_hours_mv;

-- A refresh that crashed after some of its inserts is retried with the same per-window
-- insert_deduplication_token, and these tables drop the inserts that had landed: MergeTree
-- remembers tokens only with a deduplication window (refresh.ts). The cluster transform makes it
-- replicated_deduplication_window.
ALTER TABLE client_minute_counts MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE client_locations MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE clients MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE client_traits MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE client_credentials MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE credential_days MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE client_asn_slots MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE jti_use_hours MODIFY SETTING non_replicated_deduplication_window = 1000;
