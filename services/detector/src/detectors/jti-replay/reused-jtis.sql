-- Of these jtis, those used by two or more distinct requests or by two or more clients: a
-- primary-key lookup in the jti_uses rollup, whatever the size of the history.
SELECT tenant, assertion_jti AS jti, uniqMerge(uses) AS uses, groupUniqArrayArray(clients) AS clients,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_uses
WHERE tenant IN {tenants:Array(String)} AND assertion_jti IN {jtis:Array(String)}
GROUP BY tenant, jti
HAVING uses > 1 OR length(clients) > 1
