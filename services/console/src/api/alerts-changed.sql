-- Alerts whose current version changed after a point in time: what the live feed pushes.
SELECT alert_id, finding, severity, status, tenant, client_id, updated_at
FROM alerts FINAL
WHERE updated_at > {since:DateTime64(3, 'UTC')}
ORDER BY updated_at
LIMIT 200
