INSERT INTO notifications FORMAT JSONEachRow
