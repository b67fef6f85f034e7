-- The latest human action on each of these alerts (alert_actions, migration 0014), with the
-- latest verdict any action gave: what a detector write re-applies when its read of the alert
-- predates the action (alerts-store.ts, carryTriage).
SELECT
    alert_id,
    argMax(action, at) AS latest_action,
    argMax(actor, at) AS latest_actor,
    argMax(note, at) AS latest_note,
    argMaxIf(verdict, at, verdict != '') AS latest_verdict,
    max(at) AS latest_at
FROM alert_actions
WHERE alert_id IN {ids:Array(String)}
GROUP BY alert_id
