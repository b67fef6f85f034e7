-- jti_replay's look-up as it was before migration 0016, kept for bench:jti-lookup only: the
-- window's (tenant, jti) pairs in jti_uses (ordered by tenant, jti; partitioned by week) over
-- every week since {uses_since}. Random jtis touch nearly every granule of those weeks.
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
