-- Where a replay report that names no client belongs: the tenants in which a named client used
-- one of these jtis (Keycloak's `issuedFor 'null'` warning names neither realm nor client).
-- jti_uses is ordered by (tenant, assertion_jti), so this reads the jti column of every tenant;
-- it runs only for such reports, i.e. for replays, never for ordinary traffic.
SELECT tenant, assertion_jti AS jti,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_uses
WHERE assertion_jti IN {jtis:Array(String)}
GROUP BY tenant, jti
HAVING notEmpty(arrayFilter(client -> client != {unknown:String}, groupUniqArrayArray(clients)))
