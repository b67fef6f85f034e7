-- The watches that the window's new requests fall under, and the UTC days of those requests:
-- a request from a watched client (or from the watched credential) in the watch's
-- [since, until), success or failure. Removed watches are skipped.
SELECT w.watch_id AS watch_id, toString(toDate(r.time)) AS day
FROM token_requests AS r
INNER JOIN (SELECT watch_id, tenant, client_id, credential_id, since, until FROM watch_list FINAL WHERE NOT removed) AS w
    ON r.tenant = w.tenant AND r.client_id = w.client_id
WHERE r.ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND r.ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND r.time >= {time_from:DateTime64(3, 'UTC')} AND r.time < {time_to:DateTime64(3, 'UTC')}
  -- The sort key leads with (tenant, client_id): only the watched clients' granules are read.
  AND (r.tenant, r.client_id) IN (SELECT tenant, client_id FROM watch_list FINAL WHERE NOT removed)
  AND r.time >= w.since AND (w.until IS NULL OR r.time < w.until)
  AND (w.credential_id = '' OR r.credential_id = w.credential_id)
GROUP BY watch_id, day
