-- Where a replay report that names no client belongs: the tenants in which a named client used
-- one of these jtis (Keycloak's `issuedFor 'null'` warning names neither realm nor client).
-- jti_use_hours is ordered by (tenant, hour, assertion_jti), so this reads the jti column of
-- every tenant in the weeks since {uses_since} (the report's time less index.ts's MAX_SPAN_MS:
-- the replayed use sits within the assertion's validity, minutes); it runs only for such
-- reports, i.e. for replays, never for ordinary traffic.
SELECT tenant, assertion_jti AS jti,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_use_hours
WHERE hour >= toStartOfHour({uses_since:DateTime64(3, 'UTC')}) AND assertion_jti IN {jtis:Array(String)}
GROUP BY tenant, jti
HAVING notEmpty(arrayFilter(client -> client != {unknown:String}, groupUniqArrayArray(clients)))
