-- The alerts column that names what was found is `finding` (jti_replay, jti_cross_client,
-- mint_volume, …): a detector such as jti_replay raises several findings, so `detector`
-- misled. Not part of ORDER BY, so the rename is a metadata change. IF EXISTS keeps the
-- statement idempotent (a crash before schema_migrations records it re-runs it harmlessly).
ALTER TABLE alerts RENAME COLUMN IF EXISTS detector TO finding;
