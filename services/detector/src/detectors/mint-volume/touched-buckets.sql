-- The (client, bucket) pairs that received requests in the window: what this tick must judge.
SELECT tenant, client_id,
       toUnixTimestamp(toStartOfInterval(time, toIntervalMinute({bucket_minutes:UInt32}))) * 1000 AS bucket_ms
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, bucket_ms
