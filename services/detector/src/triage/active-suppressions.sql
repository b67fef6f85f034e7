-- Suppressions that have not expired at a point in time: the `suppress` rows of the audit
-- table (migration 0014). The detector engine drops a finding's alerts for the client (and
-- key, when one is named) while one lasts.
SELECT finding, tenant, client_id, alert_key, suppressed_until, actor, note, at
FROM alert_actions
WHERE action = 'suppress' AND suppressed_until > {at:DateTime64(3, 'UTC')}
ORDER BY at
