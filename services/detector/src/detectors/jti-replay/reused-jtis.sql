-- The window's client-assertion jtis used by two or more distinct requests or by two or more
-- clients. The window's (tenant, jti) pairs stay inside ClickHouse: every request carries a new
-- jti, so a window of a million requests holds a million, which cost Node.js over 500 MB to
-- read back and send again as a parameter. The lookup in the jti_uses rollup is by its primary
-- key, whatever the size of the history.
SELECT tenant, assertion_jti AS jti, uniqMerge(uses) AS uses, groupUniqArrayArray(clients) AS clients,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_uses
WHERE (tenant, assertion_jti) IN (
    SELECT tenant, assertion_jti
    FROM token_requests
    WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
      AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
      AND assertion_jti != '')
GROUP BY tenant, jti
HAVING uses > 1 OR length(clients) > 1
