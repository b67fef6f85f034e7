-- Least-privilege roles for tokenwatch on a ClickHouse server (README: "ClickHouse server:
-- least-privilege users"). The official image runs this file with clickhouse-client as
-- CLICKHOUSE_USER (which needs CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1) on the first start of an
-- empty data volume, before 02-users.sh creates the users and gives each one its role.
--
-- The database is `tokenwatch` (CLICKHOUSE_DB in docker-compose.yml); a grant may name a table
-- that does not exist yet, so this runs before the first migration. Every statement is
-- idempotent (IF NOT EXISTS; a repeated GRANT is a no-op), so CLICKHOUSE_ALWAYS_RUN_INITDB_SCRIPTS
-- may run it again.
--
-- Materialized views run with SQL SECURITY DEFINER (see 0004_rollups.sql): the rows a writer
-- inserts into token_requests reach the rollups with the rights of the view's definer, the user
-- that ran the migration (tokenwatch_migrator_user), so the ingest role needs INSERT on
-- token_requests and nothing else (no SELECT: it cannot read what it writes).
--
-- Every role may read schema_migrations: each service checks at start-up that the schema is at
-- the version its code needs, and fails with one line naming `tokenwatch migrate` when it is
-- not. system.tables, system.one and `SELECT 1` need no grant, even with the image's
-- select_from_system_db_requires_grant.

CREATE ROLE IF NOT EXISTS tokenwatch_migrator;
CREATE ROLE IF NOT EXISTS tokenwatch_ingest;
CREATE ROLE IF NOT EXISTS tokenwatch_detector;
CREATE ROLE IF NOT EXISTS tokenwatch_notifier;
CREATE ROLE IF NOT EXISTS tokenwatch_investigator;

-- Migrator: `tokenwatch migrate` creates and alters tables and views (MODIFY TTL for
-- TOKENWATCH_RETENTION_DAYS), back-fills rollups (INSERT ... SELECT) and records each migration.
-- The definer of every materialized view, so it keeps SELECT and INSERT on the whole database.
GRANT SELECT, INSERT, ALTER, CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW ON tokenwatch.* TO tokenwatch_migrator;

-- Ingest (the Kafka worker): inserts rows into token_requests (TabSeparated, since migration
-- 0015), nothing else; the Null input table token_requests_input is no longer written.
-- (`tokenwatch import` also reads token_requests to count duplicates: run it as the migrator.)
GRANT INSERT ON tokenwatch.token_requests TO tokenwatch_ingest;
GRANT SELECT ON tokenwatch.schema_migrations TO tokenwatch_ingest;

-- Detectors: read requests, roll them up into the rollups at each tick (since migration 0017,
-- shared/src/storage/rollups/refresh.ts) and read those, upsert alerts, move their watermarks.
GRANT SELECT ON tokenwatch.token_requests TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.client_minute_counts TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.client_locations TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.jti_use_hours TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.client_traits TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.clients TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.client_asn_slots TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.client_credentials TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.credential_days TO tokenwatch_detector;
GRANT SELECT ON tokenwatch.watch_list TO tokenwatch_detector;
-- `tokenwatch watch add/remove` writes through the running process that holds the detector.
GRANT INSERT ON tokenwatch.watch_list TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.alerts TO tokenwatch_detector;
-- On-call's actions (`tokenwatch alerts ack|resolve|suppress|verdict`) go through the running
-- process that holds the detector, which appends the audit row; the detector reads the
-- unexpired suppressions and the latest action of the alerts it updates from the same table.
GRANT SELECT, INSERT ON tokenwatch.alert_actions TO tokenwatch_detector;
GRANT SELECT, INSERT ON tokenwatch.detector_watermarks TO tokenwatch_detector;
GRANT SELECT ON tokenwatch.schema_migrations TO tokenwatch_detector;

-- Notifier: reads alerts and its delivery ledger, appends to the ledger.
GRANT SELECT ON tokenwatch.alerts TO tokenwatch_notifier;
GRANT SELECT, INSERT ON tokenwatch.notifications TO tokenwatch_notifier;
GRANT SELECT ON tokenwatch.schema_migrations TO tokenwatch_notifier;

-- Investigator (`tokenwatch sql`, `tokenwatch alerts`, dashboards): reads every tokenwatch table.
GRANT SELECT ON tokenwatch.* TO tokenwatch_investigator;

-- The investigator's limits (the server-mode twin of TOKENWATCH_SQL_MAX_ROWS, _MAX_BYTES,
-- _MAX_MEMORY and _TIMEOUT_SECONDS, with their defaults: on a server the profile decides).
-- readonly = 2: no writes and no DDL, but a request may still carry
-- settings (the HTTP client sends readonly=2 and max_execution_time=120 with every query, see
-- READ_ONLY_LIMITS in shared/src/storage/clickhouse.ts, and enables response compression).
-- MIN/MAX and CONST are constraints: neither a request nor a query's SETTINGS clause may lift a
-- limit (0 would mean "unlimited", hence MIN 1) or switch a limit from failing to truncating.
-- 02-users.sh also gives this profile to the investigator user itself, so it holds even if a
-- session switches its roles off.
CREATE SETTINGS PROFILE IF NOT EXISTS tokenwatch_investigator_limits
SETTINGS
    readonly = 2 CONST,
    max_execution_time = 120 MIN 1 MAX 120,
    timeout_overflow_mode = 'throw' CONST,
    max_result_rows = 1000000 MIN 1 MAX 1000000,
    max_result_bytes = 134217728 MIN 1 MAX 134217728,
    result_overflow_mode = 'throw' CONST,
    max_memory_usage = 536870912 MIN 1 MAX 536870912,
    max_rows_to_read = 2000000000 MIN 1 MAX 2000000000,
    read_overflow_mode = 'throw' CONST
TO tokenwatch_investigator;
