-- The demo's status line: alerts firing now.
SELECT countIf(status = 'firing') AS value
FROM alerts FINAL
