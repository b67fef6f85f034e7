-- Each client's normal count per bucket as of the start of each judged hour, for successful
-- issuance (s_) and failed client authentication (f_): the median and the median absolute
-- deviation (MAD) of its past buckets, zero-filled (a quiet bucket is data: a client that
-- mints once an hour has a median of 0 per 5 minutes, not 1).
--
-- The sample set, per client and judged hour (end):
-- - under {cold_start_hours} of history: none (kind cold_start; the caller applies a cap);
-- - with {hour_of_week_min_weeks} weeks of history or more: the same hour of the week in each
--   past week within {baseline_days} (machine traffic follows cron and business hours, so
--   Monday 03:00 is compared with past Mondays at 03:00) (kind hour_of_week);
-- - otherwise every bucket since the later of end - {baseline_days} and the client's first
--   request (kind trailing).
-- All of it runs here on the per-minute rollup; one row per client and hour leaves ClickHouse.
SELECT tenant, client_id, end_ms, kind, samples, s_median, s_mad, f_median, f_mad
FROM
(
SELECT
    tenant, client_id, end_s * 1000 AS end_ms, kind, samples,
    -- Zero-filled and sorted: the quiet buckets first, then the busy ones in order.
    arrayConcat(arrayWithConstant(samples - length(s_busy), 0), s_busy) AS s_all,
    arrayConcat(arrayWithConstant(samples - length(f_busy), 0), f_busy) AS f_all,
    arraySort(arrayMap(x -> abs(x - s_median), s_all)) AS s_deviations,
    arraySort(arrayMap(x -> abs(x - f_median), f_all)) AS f_deviations,
    if(samples = 0, 0, (s_all[intDiv(samples + 1, 2)] + s_all[intDiv(samples, 2) + 1]) / 2) AS s_median,
    if(samples = 0, 0, (f_all[intDiv(samples + 1, 2)] + f_all[intDiv(samples, 2) + 1]) / 2) AS f_median,
    if(samples = 0, 0, (s_deviations[intDiv(samples + 1, 2)] + s_deviations[intDiv(samples, 2) + 1]) / 2) AS s_mad,
    if(samples = 0, 0, (f_deviations[intDiv(samples + 1, 2)] + f_deviations[intDiv(samples, 2) + 1]) / 2) AS f_mad
FROM
(
    SELECT
        tenant, client_id, end_s, kind,
        -- How many buckets the zero-filled sample set holds.
        toUInt32(multiIf(kind = 'cold_start', 0,
                         kind = 'hour_of_week', weeks * intDiv(3600, bucket_s),
                         intDiv(least(history_s, range_s), bucket_s))) AS samples,
        arraySort(groupArrayIf(s, s > 0 AND in_sample)) AS s_busy,
        arraySort(groupArrayIf(f, f > 0 AND in_sample)) AS f_busy
    FROM
    (
        SELECT
            c.tenant AS tenant, c.client_id AS client_id, end_s, b.bucket AS bucket, b.s AS s, b.f AS f,
            {bucket_minutes:UInt32} * 60 AS bucket_s,
            {baseline_days:UInt32} * 86400 AS range_s,
            toInt64(end_s) - c.first_bucket AS history_s,
            toInt64(least(intDiv(history_s, 604800), intDiv(range_s, 604800))) AS weeks,
            multiIf(history_s < {cold_start_hours:Float64} * 3600, 'cold_start',
                    history_s >= {hour_of_week_min_weeks:UInt32} * 604800, 'hour_of_week', 'trailing') AS kind,
            if(kind = 'hour_of_week',
               -- the same hour, 1..weeks whole weeks before end
               bucket >= end_s - weeks * 604800 AND bucket < end_s AND positiveModulo(bucket - end_s, 604800) < 3600,
               bucket >= end_s - least(history_s, range_s) AND bucket < end_s) AS in_sample
        FROM
        (
            SELECT tenant, client_id,
                   toInt64(toUnixTimestamp(toStartOfInterval(min(first_seen), toIntervalMinute({bucket_minutes:UInt32})))) AS first_bucket
            FROM clients
            WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
            GROUP BY tenant, client_id
        ) AS c
        ARRAY JOIN {end_seconds:Array(Int64)} AS end_s
        LEFT JOIN
        (
            SELECT tenant, client_id,
                   toInt64(toUnixTimestamp(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})))) AS bucket,
                   sumIf(n, outcome = 'success') AS s,
                   sumIf(n, outcome = 'failure' AND error_code IN {failure_codes:Array(String)}) AS f
            FROM
            (
                SELECT tenant, client_id, minute, outcome, error_code, uniqMerge(requests) AS n
                FROM client_minute_counts
                WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
                  AND minute >= toDateTime(arrayMin({end_seconds:Array(Int64)}) - {baseline_days:UInt32} * 86400, 'UTC')
                  AND minute < toDateTime(arrayMax({end_seconds:Array(Int64)}), 'UTC')
                GROUP BY tenant, client_id, minute, outcome, error_code
            )
            GROUP BY tenant, client_id, bucket
        ) AS b ON b.tenant = c.tenant AND b.client_id = c.client_id
    )
    GROUP BY tenant, client_id, end_s, kind, history_s, weeks, bucket_s, range_s
)
)
