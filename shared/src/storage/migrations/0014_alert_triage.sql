-- Triage: what on-call did with an alert (`tokenwatch alerts ack|resolve|suppress|verdict`,
-- docs/incident-response.md "Triage"). Two parts:
--
-- 1. On `alerts`, the statuses `acknowledged` and `suppressed`, and the latest human action:
--    which one, who, when, the note, and the verdict (independent of the status). Adding
--    values at the end of an Enum8, with the existing values' numbers kept, and adding
--    columns outside ORDER BY are metadata changes: no part is rewritten. Re-running a MODIFY
--    to the same type and ADD COLUMN IF NOT EXISTS are no-ops, so the file is idempotent.
ALTER TABLE alerts MODIFY COLUMN status Enum8('firing' = 1, 'resolved' = 2, 'acknowledged' = 3, 'suppressed' = 4);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS triage_action Enum8('' = 0, 'ack' = 1, 'resolve' = 2, 'suppress' = 3, 'verdict' = 4) DEFAULT '' AFTER status;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS triaged_by String DEFAULT '' AFTER triage_action;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS triaged_at DateTime64(3, 'UTC') DEFAULT 0 COMMENT '1970: never triaged' AFTER triaged_by;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS triage_note String DEFAULT '' AFTER triaged_at;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS verdict Enum8('' = 0, 'true_positive' = 1, 'benign' = 2, 'needs_tuning' = 3) DEFAULT '' AFTER triage_note;

-- 2. `alert_actions`: the append-only audit of every action, one row each, never updated or
--    deleted. A `suppress` row is also the suppression itself (finding, tenant, client_id and,
--    when narrowed to one key, alert_key; until suppressed_until): the detector engine reads
--    the unexpired ones each tick. One row being both means a suppression can never exist
--    without its audit entry or the other way round (ClickHouse has no transaction across two
--    tables), and the history of who suppressed what, when and why is the table itself.
--
-- ORDER BY (alert_id, at): reads are "the latest action of these alerts" and "unexpired
-- suppressions" (a small table: one row per human action).
CREATE TABLE IF NOT EXISTS alert_actions
(
    alert_id         String,
    action           Enum8('ack' = 1, 'resolve' = 2, 'suppress' = 3, 'verdict' = 4),
    actor            String COMMENT 'who: --user, by default the operating-system user and host',
    note             String,
    verdict          Enum8('' = 0, 'true_positive' = 1, 'benign' = 2, 'needs_tuning' = 3) COMMENT 'empty: the action gave none',
    at               DateTime64(3, 'UTC') COMMENT 'also the updated_at of the alert version the action wrote',
    finding          LowCardinality(String),
    tenant           LowCardinality(String),
    client_id        String,
    alert_key        String COMMENT 'suppress: only this key of the finding; empty: every key of the client',
    suppressed_until Nullable(DateTime64(3, 'UTC')) COMMENT 'suppress: when the suppression expires; NULL for other actions'
)
ENGINE = MergeTree
ORDER BY (alert_id, at);
