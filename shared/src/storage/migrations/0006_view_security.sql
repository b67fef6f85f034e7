-- SQL SECURITY DEFINER on the view of 0002 (the rollup views of 0004 are created with it): a
-- view pushes rows into its target with the rights of its definer, the user that created it
-- (the migrator on a server), not of the writer, so a writer needs INSERT on
-- token_requests_input only (infra/clickhouse/). Written out rather than left to
-- default_materialized_view_sql_security, which a server may set otherwise.
ALTER TABLE token_requests_input_mv MODIFY SQL SECURITY DEFINER;
