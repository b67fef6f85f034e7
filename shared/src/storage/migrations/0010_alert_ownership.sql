-- Who owns an alert's client, from the client inventory (TOKENWATCH_INVENTORY,
-- docs/inventory.md), stamped when the alert is stored so the alert keeps saying who was told
-- and where after the inventory changes. detector_severity is the severity before a critical
-- client's one-step raise ('' on alerts stored before this migration: no raise happened).
-- Not part of ORDER BY, so these are metadata changes; IF NOT EXISTS keeps them idempotent.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS owner String DEFAULT '' AFTER event_ids;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS team String DEFAULT '' AFTER owner;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS slack_channel String DEFAULT '' AFTER team;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS criticality LowCardinality(String) DEFAULT '' AFTER slack_channel;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS detector_severity LowCardinality(String) DEFAULT '' AFTER criticality;
