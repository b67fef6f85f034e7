-- The window's client-assertion jtis used by two or more distinct requests or by two or more
-- clients. The window's (tenant, jti) pairs stay inside ClickHouse: every request carries a new
-- jti, so a window of a million requests holds a million, which cost Node.js over 500 MB to
-- read back and send again as a parameter. The lookup in the jti_uses rollup is by its primary
-- key; real jtis are random (UUIDs), so thousands of them touch most granules of a partition,
-- and only the weeks since {uses_since} are read: a replay is judged within the assertion's
-- validity, which ends long before the lookback (index.ts), so older weeks cannot make one; what
-- is given up is a jti shared by two clients more than the lookback apart. The cost stays that
-- of a week or two of jtis whatever the retention.
SELECT tenant, assertion_jti AS jti, uniqMerge(uses) AS uses, groupUniqArrayArray(clients) AS clients,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_uses
WHERE week >= toMonday({uses_since:DateTime64(3, 'UTC')})
  AND (tenant, assertion_jti) IN (
    SELECT tenant, assertion_jti
    FROM token_requests
    WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
      AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
      AND assertion_jti != '')
GROUP BY tenant, jti
HAVING uses > 1 OR length(clients) > 1
