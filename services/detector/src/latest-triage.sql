-- The latest human action on each of these alerts (alert_actions, migration 0014), with the
-- latest verdict any action gave: what a detector write re-applies when its read of the alert
-- predates the action (alerts-store.ts, carryTriage).
SELECT
    alert_id,
    argMax(action, at) AS action,
    argMax(actor, at) AS actor,
    argMax(note, at) AS note,
    argMaxIf(verdict, at, verdict != '') AS verdict,
    max(at) AS at
FROM alert_actions
WHERE alert_id IN {ids:Array(String)}
GROUP BY alert_id
