-- The window's successful requests from known networks, per client and credential (the
-- credential id, else the assertion's kid: the rollup's expression): which 5-minute slots
-- they touched. Only runs of slots around these can hold a new burst. first_slot, even past
-- the 2,000 slots kept: a request older than a saved checkpoint makes the detector drop it.
SELECT tenant, client_id, any(client_name) AS client_name,
       if(credential_id != '', credential_id, assertion_kid) AS credential,
       groupUniqArray(2000)(intDiv(toUnixTimestamp(time), 300)) AS slots,
       min(intDiv(toUnixTimestamp(time), 300)) AS first_slot
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success' AND asn != 0
GROUP BY tenant, client_id, credential
