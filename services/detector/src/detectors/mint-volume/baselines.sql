-- Robust statistics of past buckets for a list of baseline requests (one per client and
-- baseline end, designed by baseline.ts): the median and the median absolute deviation (MAD)
-- of successful issuance (s_) and failed client authentication (f_) per bucket, zero-filled
-- (a quiet bucket is data: a client that mints once an hour has a median of 0 per 5 minutes).
--
-- A request's sample set is every bucket in [window_start, end) or, with {by_week:UInt8} = 1,
-- only the buckets of the hour that starts a whole number of weeks before `end` (Monday 03:00
-- compared with past Mondays at 03:00). `samples` is the set's size including empty buckets.
-- The statistics are computed here; one row per request leaves ClickHouse.
SELECT tenant, client_id, end_s * 1000 AS end_ms, s_median, s_mad, f_median, f_mad
FROM
(
    SELECT
        tenant, client_id, end_s, samples,
        -- Zero-filled and sorted: the quiet buckets first, then the busy ones in order.
        arrayConcat(arrayWithConstant(samples - length(s_busy), 0), s_busy) AS s_all,
        arrayConcat(arrayWithConstant(samples - length(f_busy), 0), f_busy) AS f_all,
        arraySort(arrayMap(x -> abs(x - s_median), s_all)) AS s_deviations,
        arraySort(arrayMap(x -> abs(x - f_median), f_all)) AS f_deviations,
        (s_all[intDiv(samples + 1, 2)] + s_all[intDiv(samples, 2) + 1]) / 2 AS s_median,
        (f_all[intDiv(samples + 1, 2)] + f_all[intDiv(samples, 2) + 1]) / 2 AS f_median,
        (s_deviations[intDiv(samples + 1, 2)] + s_deviations[intDiv(samples, 2) + 1]) / 2 AS s_mad,
        (f_deviations[intDiv(samples + 1, 2)] + f_deviations[intDiv(samples, 2) + 1]) / 2 AS f_mad
    FROM
    (
        SELECT tenant, client_id, end_s, samples,
               arraySort(groupArrayIf(s, s > 0 AND in_sample)) AS s_busy,
               arraySort(groupArrayIf(f, f > 0 AND in_sample)) AS f_busy
        FROM
        (
        SELECT
            r.tenant AS tenant, r.client_id AS client_id, r.end_s AS end_s, r.samples AS samples, b.s AS s, b.f AS f,
            b.bucket >= r.window_start AND b.bucket < r.end_s
                AND ({by_week:UInt8} = 0 OR positiveModulo(b.bucket - r.end_s, 604800) < 3600) AS in_sample
        FROM
        (
            SELECT request.1 AS tenant, request.2 AS client_id, request.3 AS end_s, request.4 AS window_start, request.5 AS samples
            FROM system.one
            ARRAY JOIN arrayZip({tenants:Array(String)}, {clients:Array(String)}, {end_seconds:Array(Int64)},
                                {window_starts:Array(Int64)}, {samples:Array(UInt32)}) AS request
        ) AS r
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
                  AND minute >= toDateTime(arrayMin({window_starts:Array(Int64)}), 'UTC')
                  AND minute < toDateTime(arrayMax({end_seconds:Array(Int64)}), 'UTC')
                  -- Week-over-week requests read only the hours they compare with.
                  AND ({by_week:UInt8} = 0 OR toStartOfHour(minute) IN {week_slots:Array(DateTime('UTC'))})
                GROUP BY tenant, client_id, minute, outcome, error_code
            )
            GROUP BY tenant, client_id, bucket
        ) AS b ON b.tenant = r.tenant AND b.client_id = r.client_id
        )
        GROUP BY tenant, client_id, end_s, samples
    )
)
