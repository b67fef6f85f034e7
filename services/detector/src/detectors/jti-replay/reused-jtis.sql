-- The window's client-assertion jtis used by two or more distinct requests or by two or more
-- clients. The window's jtis stay inside ClickHouse: every request carries a new jti, so a
-- window of a million requests holds a million, which cost Node.js over 500 MB to read back
-- and send again as a parameter.
--
-- The look-up reads jti_use_hours (0016, ordered by tenant, hour of use, jti) only in the hours
-- where another use of each jti can sit: a replay is the same assertion, with the same iat and
-- exp, inside its validity. Per (tenant, jti) of the window, `spans` reaches from each use back
-- to its iat and forward to its exp (plus leeway), at least {min_span_seconds} either way
-- (cross-client uses, clock skew), {no_claim_span_seconds} for a use without iat or exp (the
-- validity index.ts gives one without exp), and at most {max_span_seconds} (a forged iat or
-- exp). A span of at most {max_hours_by_key} hours is looked up as (tenant, hour, jti) keys:
-- granules of those hours only, whatever the history. A longer one (a day-old iat, legitimate
-- or forged) is looked up by (tenant, jti) over every hour since {wide_since}, as every jti
-- was before 0016: a hostile claim costs at most that, and the key set at most
-- {max_hours_by_key} keys per jti.
WITH spans AS (
    SELECT tenant, assertion_jti AS jti,
           toStartOfHour(toDateTime(min(use_s - back_s), 'UTC')) AS first_hour,
           toStartOfHour(toDateTime(max(use_s + forward_s), 'UTC')) AS last_hour,
           dateDiff('hour', first_hour, last_hour) + 1 AS hours
    FROM (
        SELECT tenant, assertion_jti, toInt64(toUnixTimestamp(time)) AS use_s,
               if(assertion_iat IS NULL, {no_claim_span_seconds:UInt32},
                  least(greatest(use_s - toUnixTimestamp(assertion_iat) + {leeway_seconds:UInt32}, {min_span_seconds:UInt32}), {max_span_seconds:UInt32})) AS back_s,
               if(assertion_exp IS NULL, {no_claim_span_seconds:UInt32},
                  least(greatest(toUnixTimestamp(assertion_exp) + {leeway_seconds:UInt32} - use_s, {min_span_seconds:UInt32}), {max_span_seconds:UInt32})) AS forward_s
        FROM token_requests
        WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
          AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
          AND assertion_jti != '')
    GROUP BY tenant, jti
)
SELECT tenant, assertion_jti AS jti, uniqMerge(uses) AS uses, groupUniqArrayArray(clients) AS clients,
       toUnixTimestamp64Milli(min(first_seen)) AS first_time, toUnixTimestamp64Milli(max(last_seen)) AS last_time
FROM jti_use_hours
WHERE (tenant, hour, assertion_jti) IN (
        SELECT tenant, arrayJoin(arrayMap(offset -> addHours(first_hour, offset), range(hours))), jti
        FROM spans
        WHERE hours <= {max_hours_by_key:UInt32})
   OR (hour >= toStartOfHour({wide_since:DateTime64(3, 'UTC')})
       AND (tenant, assertion_jti) IN (SELECT tenant, jti FROM spans WHERE hours > {max_hours_by_key:UInt32}))
GROUP BY tenant, jti
HAVING uses > 1 OR length(clients) > 1
