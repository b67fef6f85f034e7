-- A client's first and last request and name, from the `clients` rollup.
SELECT anyLast(client_name) AS client_name,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms
FROM clients
WHERE tenant = {tenant:String} AND client_id = {client:String}
HAVING count() > 0
