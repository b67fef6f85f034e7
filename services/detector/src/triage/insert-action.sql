INSERT INTO alert_actions FORMAT JSONEachRow
